using System.Diagnostics;

namespace VslsActors.MultiNode.Network;

/// <summary>The outcome of one <see cref="HostCommand"/>: exit code and both output streams.</summary>
public sealed record HostCommandResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>True when the command exited with 0.</summary>
    public bool Succeeded => ExitCode == 0;
}

/// <summary>
/// Runs <c>ip</c> and <c>iptables</c> as child processes. The lab shells out on purpose: these are the
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
            throw new NetworkLabException(Describe(result));
        return result.StandardOutput;
    }

    /// <summary>Runs the command and returns its outcome whatever the exit code (clean-up tolerates "already gone").</summary>
    public static async Task<HostCommandResult> TryRunAsync(string fileName, params string[] arguments)
    {
        var commandLine = string.Join(' ', new[] { fileName }.Concat(arguments));
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        // Messages in English whatever the machine's locale, so they read the same in every log.
        info.Environment["LC_ALL"] = "C";
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new NetworkLabException($"`{commandLine}` did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new NetworkLabException($"`{commandLine}` cannot run: {e.Message} (is {fileName} installed? .ci/run installs iproute2 and iptables)");
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(Timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new NetworkLabException($"`{commandLine}` did not finish within {Timeout.TotalSeconds:0} s");
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
