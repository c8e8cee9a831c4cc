using System.Diagnostics;
using System.Runtime.InteropServices;
using VslsActors.Domain;

namespace VslsActors.MultiNode.Harness;

/// <summary>Where a member process is in the harness's eyes.</summary>
public enum MemberRunState
{
    /// <summary>Never started, or its process ended (killed, stopped, downed).</summary>
    NotRunning,
    /// <summary>Its process runs.</summary>
    Running,
    /// <summary>Its process is stopped with SIGSTOP (a hung member).</summary>
    Paused,
}

/// <summary>
/// One member's slot in a run: its fixed name, address and ports (kept across restarts, so a restarted
/// member has the same address, as a rebooted host would), and the process currently running it.
/// Output goes to one log file per slot, appended across restarts with a marker line per start.
/// </summary>
public sealed class MemberNode : IDisposable
{
    private const int SigStop = 19;
    private const int SigCont = 18;
    private const int SigTerm = 15;

    private readonly object _gate = new();
    private readonly StreamWriter _log;
    private Process? _process;
    private MemberRunState _state;
    private int _starts;

    internal MemberNode(MemberName name, MemberLaunch launch, int remotingPort, int ingressPort, int apiPort, string logPath)
    {
        Name = name;
        Launch = launch;
        RemotingPort = remotingPort;
        IngressPort = ingressPort;
        ApiPort = apiPort;
        LogPath = logPath;
        _log = new StreamWriter(logPath, append: true) { AutoFlush = true };
    }

    /// <summary>The member's name.</summary>
    public MemberName Name { get; }

    /// <summary>How it is launched (address, prefix).</summary>
    public MemberLaunch Launch { get; }

    /// <summary>Akka.Remote port.</summary>
    public int RemotingPort { get; }

    /// <summary>gRPC ingress port.</summary>
    public int IngressPort { get; }

    /// <summary>Management API port.</summary>
    public int ApiPort { get; }

    /// <summary>Its log file (every start appended).</summary>
    public string LogPath { get; }

    /// <summary><c>host:port</c> of its remoting endpoint (a seed).</summary>
    public string RemotingEndpoint => $"{Launch.Host}:{RemotingPort}";

    /// <summary><c>host:port</c> of its ingress.</summary>
    public string IngressEndpoint => $"{Launch.Host}:{IngressPort}";

    /// <summary>Base URI of its management API.</summary>
    public Uri ApiBase => new($"http://{Launch.Host}:{ApiPort}/api/v1/");

    /// <summary>The current state.</summary>
    public MemberRunState State
    {
        get
        {
            lock (_gate)
            {
                if (_state != MemberRunState.NotRunning && _process is { HasExited: true })
                    _state = MemberRunState.NotRunning;
                return _state;
            }
        }
    }

    /// <summary>Pid of the current (or last) process; 0 before the first start.</summary>
    public int Pid { get { lock (_gate) return _process?.Id ?? 0; } }

    /// <summary>Exit code of the last process once it ended, else null.</summary>
    public int? ExitCode { get { lock (_gate) return _process is { HasExited: true } p ? p.ExitCode : null; } }

    /// <summary>How many times a process was started for this member.</summary>
    public int Starts { get { lock (_gate) return _starts; } }

    internal void Start(IReadOnlyList<string> command, string runLabel)
    {
        lock (_gate)
        {
            if (_process is { HasExited: false })
                throw new InvalidOperationException($"{Name} is already running (pid {_process.Id})");
            _process?.Dispose();
            var info = new ProcessStartInfo(command[0])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (var a in command.Skip(1))
                info.ArgumentList.Add(a);
            // The harness's own VSLS_* settings (if any) must not leak into a member: options say everything.
            foreach (var v in Node.VslsNodeOptions.EnvironmentVariables)
                info.Environment.Remove(v);
            var process = new Process { StartInfo = info, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => Write(e.Data, false);
            process.ErrorDataReceived += (_, e) => Write(e.Data, true);
            _starts++;
            Write($"==== {runLabel}: start #{_starts} of {Name} at {DateTime.UtcNow:O}: {string.Join(' ', command)}", false);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            _process = process;
            _state = MemberRunState.Running;
        }
    }

    private void Write(string? line, bool isError)
    {
        if (line is null)
            return;
        lock (_log)
        {
            try
            {
                _log.WriteLine(isError ? "[stderr] " + line : line);
            }
            catch (ObjectDisposedException)
            {
                // The run is over; late output of a dying member is not needed.
            }
        }
    }

    /// <summary>Writes a harness note into the member's log (so a log reads with the faults in place).</summary>
    internal void Note(string text) => Write($"==== harness: {text}", false);

    /// <summary>SIGKILL: a crash, no leave.</summary>
    internal void Kill()
    {
        lock (_gate)
        {
            if (_process is { HasExited: false } p)
            {
                // A stopped process dies on SIGKILL too; the tree holds a prefix's children (none for `ip netns exec`, which execs).
                p.Kill(entireProcessTree: true);
            }
            _state = MemberRunState.NotRunning;
        }
    }

    /// <summary>SIGSTOP: the process stays, answers nothing (a hung host, a long GC pause).</summary>
    internal void Pause()
    {
        lock (_gate)
        {
            RequireRunning("pause");
            Signal(_process!.Id, SigStop);
            _state = MemberRunState.Paused;
        }
    }

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    internal void Resume()
    {
        lock (_gate)
        {
            if (_state != MemberRunState.Paused || _process is null or { HasExited: true })
                throw new InvalidOperationException($"{Name} is not paused");
            Signal(_process.Id, SigCont);
            _state = MemberRunState.Running;
        }
    }

    /// <summary>SIGTERM: the member leaves the cluster gracefully and exits.</summary>
    internal void Terminate()
    {
        lock (_gate)
        {
            RequireRunning("stop");
            Signal(_process!.Id, SigTerm);
        }
    }

    /// <summary>Waits for the current process to end; its exit code, or null when <paramref name="timeout"/> passed first.</summary>
    internal async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        Process? p;
        lock (_gate)
            p = _process;
        if (p is null)
            return null;
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            lock (_gate)
                _state = MemberRunState.NotRunning;
            return p.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private void RequireRunning(string what)
    {
        if (_state != MemberRunState.Running || _process is null or { HasExited: true })
            throw new InvalidOperationException($"cannot {what} {Name}: it is {_state.ToString().ToLowerInvariant()}");
    }

    private void Signal(int pid, int signal)
    {
        if (kill(pid, signal) != 0)
            throw new InvalidOperationException($"kill({pid}, {signal}) for {Name} failed: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    /// <summary>The last <paramref name="lines"/> lines of the log.</summary>
    public string Tail(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException e)
        {
            return $"(log {LogPath} unreadable: {e.Message})";
        }
    }

    /// <summary>Kills a process still running (SIGCONT first is not needed: SIGKILL ends a stopped process).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            try
            {
                if (_process is { HasExited: false } p)
                    p.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // already reaped
            }
            _process?.Dispose();
            _process = null;
            _state = MemberRunState.NotRunning;
        }
        lock (_log)
            _log.Dispose();
    }
}
