using System.Diagnostics;

namespace VslsActors.Cli.Tests.Replay;

/// <summary>
/// Wireshark's <c>tshark</c>, the independent tool the replay is checked against. Installed from the
/// Debian packages when missing (as root, the way CI runs, like <c>.ci/postgres-up</c> does for
/// PostgreSQL); when that is impossible the test fails and says why — it is never skipped.
/// </summary>
internal static class Tshark
{
    private static readonly Lazy<string> s_path = new(Resolve, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The tshark executable.</summary>
    public static string Path => s_path.Value;

    private static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/usr/sbin").Split(':')
            .Select(d => System.IO.Path.Combine(d, "tshark"))
            .FirstOrDefault(File.Exists);

    private static string Resolve()
    {
        if (Find() is { } found)
            return found;
        if (Environment.UserName != "root")
            throw new InvalidOperationException("this test needs Wireshark's tshark: install it (apt-get install tshark) or run the tests as root so the test can install it");
        var (code, output) = Run("bash", "-c",
            "echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections; " +
            "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q tshark || (apt-get update -q && apt-get install -y -q tshark)");
        return Find() ?? throw new InvalidOperationException(
            $"this test needs Wireshark's tshark and installing it failed (apt-get exit {code}): {string.Join(" | ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(3))}");
    }

    /// <summary>Runs a program to completion; its exit code and stdout+stderr.</summary>
    public static (int Code, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var p = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Runs tshark on a capture file and returns its stdout (fails the test on a non-zero exit).</summary>
    public static string Read(params string[] args)
    {
        var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"tshark {string.Join(' ', args)} exited {p.ExitCode}: {stderr.Result.Trim()}");
        return stdout.Result;
    }

    /// <summary>
    /// A live capture on the loopback interface into a pcapng file, started and confirmed running
    /// (tshark says "Capturing on"), stopped with SIGINT so the file is complete.
    /// </summary>
    public sealed class Capture : IDisposable
    {
        private readonly Process _process;
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly System.Text.StringBuilder _stderr = new();

        public Capture(string file, string filter)
        {
            var info = new ProcessStartInfo(Path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-i", "lo", "-w", file, "-f", filter, "-q" })
                info.ArgumentList.Add(a);
            _process = Process.Start(info) ?? throw new InvalidOperationException("cannot start tshark");
            _process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    _started.TrySetException(new InvalidOperationException($"tshark could not capture on the loopback interface (it needs root or the capture capabilities): {_stderr.ToString().Trim()}"));
                    return;
                }
                lock (_stderr)
                    _stderr.AppendLine(e.Data);
                if (e.Data.Contains("Capturing on", StringComparison.Ordinal))
                    _started.TrySetResult();
            };
            _process.BeginErrorReadLine();
            _process.StandardOutput.ReadToEndAsync();
        }

        /// <summary>Waits until tshark captures (or fails the test saying why it cannot).</summary>
        public async Task StartedAsync()
        {
            var done = await Task.WhenAny(_started.Task, Task.Delay(TimeSpan.FromSeconds(30)));
            if (done != _started.Task)
                throw new InvalidOperationException($"tshark did not start capturing within 30 s: {_stderr.ToString().Trim()}");
            await _started.Task;
            // dumpcap reports "Capturing on" as it opens the interface; give the filter a moment to be attached.
            await Task.Delay(500);
        }

        /// <summary>Stops the capture with SIGINT (tshark then writes out what it has) and waits for it to exit.</summary>
        public async Task StopAsync()
        {
            // Let the last packets reach dumpcap's buffer before it is told to stop.
            await Task.Delay(1000);
            Run("kill", "-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(cts.Token);
        }

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }
}
