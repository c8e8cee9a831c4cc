using Microsoft.Extensions.Logging;

namespace VslsActors.Cli.Demo;

/// <summary>
/// Writes the demo driver's logs (its Akka system's) to a file, one line per entry, so that they
/// do not tear through the live progress table. Good enough for a diagnostic log; not for production.
/// </summary>
internal sealed class FileLoggerProvider(string path) : ILoggerProvider
{
    private readonly StreamWriter _writer = new(path, append: false) { AutoFlush = true };
    private readonly object _gate = new();

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    private void Write(string line)
    {
        lock (_gate)
        {
            try
            {
                _writer.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Late log entries during shutdown.
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
            _writer.Dispose();
    }

    private sealed class FileLogger(FileLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel,-11} {category}: {formatter(state, exception)}";
            owner.Write(exception is null ? line : line + Environment.NewLine + exception);
        }
    }
}
