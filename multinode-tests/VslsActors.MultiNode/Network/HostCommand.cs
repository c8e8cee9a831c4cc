using System.Diagnostics;

namespace VslsActors.MultiNode.Network;

/// <summary>The outcome of one <see cref="HostCommand"/>: exit code and both output streams.</summary>
public sealed record HostCommandResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>True when the command exited with 0.</summary>
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// Runs host tools as child processes: <c>ip</c> and <c>iptables</c> for the network lab, PostgreSQL's
/// <c>pg_ctl</c> for the private server. The lab shells out on purpose: these are the
/// tools an operator would use to build (and to clean up) the same lab by hand, and their error text is
/// what explains a failure, so it is carried whole into the exception.
/// </summary>
public static class HostCommand
{
    /// <summary>How long one command may take; ip and iptables answer in milliseconds, so this only catches a hang.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs the command and throws <see cref="NetworkLabException"/> (with its stderr) when it fails.</summary>
    public static async Task<string> RunAsync(string fileName, params string[] arguments)
    {
        var result = await TryRunAsync(fileName, arguments).ConfigureAwait(false);
        if (!result.Succeeded)
            throw new NetworkLabException(Describe(result) + (result.ExitCode == CannotRun ? $" (is {fileName} installed? .ci/run installs iproute2 and iptables)" : ""));
        return result.StandardOutput;
    }

    /// <summary>Runs the command and returns its outcome whatever the exit code (clean-up tolerates "already gone").</summary>
    public static Task<HostCommandResult> TryRunAsync(string fileName, params string[] arguments) =>
        TryRunAsync(fileName, (IReadOnlyList<string>)arguments);

    /// <summary>Exit code of a result whose command could not be started (as a shell says for "not found").</summary>
    public const int CannotRun = 127;

    /// <summary>Exit code of a result whose command ran past its timeout and was killed.</summary>
    public const int TimedOut = -1;

    /// <summary>
    /// Runs the command in <paramref name="workingDirectory"/> (default: this process's) and returns its
    /// outcome whatever the exit code; a command that cannot start gives <see cref="CannotRun"/>, one
    /// that runs past <paramref name="timeout"/> (default 30 s) is killed and gives <see cref="TimedOut"/>,
    /// each with the reason as its stderr.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled (the command is killed).</exception>
    public static async Task<HostCommandResult> TryRunAsync(string fileName, IReadOnlyList<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var commandLine = string.Join(' ', new[] { fileName }.Concat(arguments));
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
            info.WorkingDirectory = workingDirectory;
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        // Messages in English whatever the machine's locale, so they read the same in every log.
        info.Environment["LC_ALL"] = "C";
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new System.ComponentModel.Win32Exception("the process did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new HostCommandResult(commandLine, CannotRun, "", $"cannot run: {e.Message}");
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
            var limit = timeout ?? Timeout;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            cts.CancelAfter(limit);
            try
            {
                await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                ct.ThrowIfCancellationRequested();
                return new HostCommandResult(commandLine, TimedOut, "", $"did not finish within {limit.TotalSeconds:0} s");
            }
            return new HostCommandResult(commandLine, process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
        }
    }

    /// <summary>One line: the command, its exit code and its stderr.</summary>
    public static string Describe(HostCommandResult result)
    {
        var error = result.StandardError.Trim().ReplaceLineEndings(" | ");
        return $"`{result.CommandLine}` failed (exit {result.ExitCode}): {(error.Length == 0 ? "no message on stderr" : error)}";
    }
}
