using System.Diagnostics;
using System.Runtime.InteropServices;

namespace VslsActors.Cli.Demo;

/// <summary>
/// How to start this same program again: the <c>vsls</c> apphost when that is what runs, otherwise
/// <c>dotnet vsls.dll</c> (under <c>dotnet vsls.dll</c>, and in tests, where the process is dotnet or testhost).
/// </summary>
internal sealed record SelfCommand(string FileName, IReadOnlyList<string> PrefixArguments)
{
    public static SelfCommand Resolve()
    {
        var process = Environment.ProcessPath;
        var entry = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name;
        if (process is not null && entry == "vsls" && Path.GetFileNameWithoutExtension(process) != "dotnet")
            return new SelfCommand(process, []);
        var dll = typeof(SelfCommand).Assembly.Location;
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(dotnet) || !File.Exists(dotnet))
            dotnet = process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process : "dotnet";
        return new SelfCommand(dotnet, [dll]);
    }
}

/// <summary>
/// One member started by the demo as a child process (<c>vsls node …</c>); its output goes to a log
/// file, and its first stderr line is kept to explain a failed start in one line.
/// </summary>
internal sealed class MemberProcess : IDisposable
{
    private const int SigTerm = 15;
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly object _logGate = new();
    private string? _firstError;

    private MemberProcess(string name, int port, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        Port = port;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string Name { get; }
    public int Port { get; }
    public string LogPath { get; }
    public int Pid => _process.Id;
    public bool Killed { get; private set; }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>The first line the member wrote to stderr (its one-line reason for a failed start).</summary>
    public string? FirstError => Volatile.Read(ref _firstError);

    public static MemberProcess Start(SelfCommand self, string name, int port, IEnumerable<string> nodeArguments, string logPath)
    {
        var info = new ProcessStartInfo(self.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // the member must not share the demo's console input (Ctrl+C goes to the demo)
            UseShellExecute = false,
        };
        foreach (var a in self.PrefixArguments)
            info.ArgumentList.Add(a);
        info.ArgumentList.Add("node");
        foreach (var a in nodeArguments)
            info.ArgumentList.Add(a);
        // Command-line options win over these anyway; cleared so the parent's settings cannot leak in.
        foreach (var v in Node.VslsNodeOptions.EnvironmentVariables)
            info.Environment.Remove(v);
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var member = new MemberProcess(name, port, process, log, logPath);
        process.OutputDataReceived += (_, e) => member.Write(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => member.Write(e.Data, isError: true);
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            log.Dispose();
            throw new DemoException($"cannot start {self.FileName} for {name}: {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return member;
    }

    private void Write(string? line, bool isError)
    {
        if (line is null)
            return;
        if (isError && !string.IsNullOrWhiteSpace(line))
            Interlocked.CompareExchange(ref _firstError, line.Trim(), null);
        lock (_logGate)
        {
            try
            {
                _log.WriteLine(isError ? "[stderr] " + line : line);
            }
            catch (ObjectDisposedException)
            {
                // The demo is finishing; late output from a dying member is not needed.
            }
        }
    }

    /// <summary>Kills the member abruptly (SIGKILL on Unix): no leave, no hand-off — a crash.</summary>
    public void Kill()
    {
        Killed = true;
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: true);
    }

    /// <summary>Asks the member to stop (SIGTERM: graceful leave); kills it if it has not exited within <paramref name="timeout"/>.</summary>
    public async Task<bool> TerminateAsync(TimeSpan timeout)
    {
        if (_process.HasExited)
            return true;
        if (OperatingSystem.IsWindows())
        {
            _process.Kill(entireProcessTree: true);
        }
        else if (kill(_process.Id, SigTerm) != 0)
        {
            _process.Kill(entireProcessTree: true);
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            return false;
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }
        _process.Dispose();
        lock (_logGate)
            _log.Dispose();
    }
}
