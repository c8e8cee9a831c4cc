using System.Diagnostics;
using System.Text;
using VslsActors.Cli.Demo;

namespace VslsActors.Cli.Tests.Ctl;

/// <summary>
/// The real <c>vsls</c> process behind a pseudo-terminal, as an operator at a terminal meets it:
/// util-linux <c>script</c> opens the PTY, runs vsls on its slave side (so vsls' stdin is a terminal and
/// <c>Console.ReadKey</c> reads raw keys), copies what is written here to the master — keystrokes,
/// escape sequences, Ctrl+C — and everything vsls prints back. Waits are on output, never on time.
/// </summary>
internal sealed class PseudoTerminal : IDisposable
{
    /// <summary>How long any one expected output may take before the test fails naming it.</summary>
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _screen = new();
    private readonly object _gate = new();
    private readonly Task _reader;

    private PseudoTerminal(Process process)
    {
        _process = process;
        _reader = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int n;
            while ((n = await process.StandardOutput.ReadAsync(buffer)) > 0)
            {
                lock (_gate)
                    _screen.Append(buffer, 0, n);
            }
        });
    }

    /// <summary>Starts <c>vsls <paramref name="args"/></c> on a new terminal.</summary>
    public static PseudoTerminal Start(params string[] args)
    {
        var self = SelfCommand.Resolve();
        var command = string.Join(" ", new[] { self.FileName }.Concat(self.PrefixArguments).Concat(args).Select(Quote));
        // -q: no "Script started" lines; -f: flush at once; -e: exit with vsls' code; -c: the command; /dev/null: no typescript file.
        var info = new ProcessStartInfo("script", ["-qfec", command, "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["TERM"] = "xterm";
        return new PseudoTerminal(Process.Start(info) ?? throw new InvalidOperationException("cannot start util-linux script"));
    }

    /// <summary>Everything printed so far (with the terminal's CR LF and backspaces).</summary>
    public string Screen
    {
        get
        {
            lock (_gate)
                return _screen.ToString();
        }
    }

    /// <summary>Sends keys as the terminal would: text, "\t", "\r", "\x1b[A" (Up), "\x03" (Ctrl+C), "\x04" (Ctrl+D).</summary>
    public async Task TypeAsync(string keys)
    {
        await _process.StandardInput.WriteAsync(keys);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits until <paramref name="text"/> appears <paramref name="times"/> times on the screen.</summary>
    public async Task WaitForAsync(string text, int times = 1)
    {
        var deadline = DateTime.UtcNow + s_patience;
        while (Count(Screen, text) < times)
        {
            if (DateTime.UtcNow > deadline || _reader.IsCompleted)
                throw new TimeoutException($"the terminal did not show '{Visible(text)}' {times} time(s); it shows: {Visible(Screen)}");
            await Task.Delay(50);
        }
    }

    /// <summary>Waits for vsls to end; its exit code (script -e passes it on).</summary>
    public async Task<int> ExitCodeAsync()
    {
        using var cts = new CancellationTokenSource(s_patience);
        await _process.WaitForExitAsync(cts.Token);
        await _reader;
        return _process.ExitCode;
    }

    public static int Count(string screen, string text)
    {
        var count = 0;
        for (var i = screen.IndexOf(text, StringComparison.Ordinal); i >= 0; i = screen.IndexOf(text, i + text.Length, StringComparison.Ordinal))
            count++;
        return count;
    }

    private static string Visible(string text) =>
        text.Replace("\x1b", "\\e", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\b", "\\b", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static string Quote(string arg) => "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public void Dispose()
    {
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
