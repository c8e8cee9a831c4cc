using System.Diagnostics;
using VslsActors.Cli.Demo;

namespace VslsActors.Cli.Tests;

/// <summary>Runs <c>vsls</c> in-process or as a real process and captures what it prints.</summary>
internal static class CliRun
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public static async Task<Result> InProcessAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var code = await VslsCli.RunAsync(args, output, error, cts.Token);
        return new Result(code, output.ToString(), error.ToString());
    }

    /// <summary>Runs the built <c>vsls</c> (via <c>dotnet vsls.dll</c>) as its own process.</summary>
    public static async Task<Result> ProcessAsync(params string[] args)
    {
        var self = SelfCommand.Resolve();
        var info = new ProcessStartInfo(self.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in self.PrefixArguments)
            info.ArgumentList.Add(a);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        // Generous: the demo end-to-end run (cluster formation, traffic, failover, graceful stop) goes through here too.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        await p.WaitForExitAsync(cts.Token);
        return new Result(p.ExitCode, await stdout, await stderr);
    }

    public static string SampleTopologyFile()
    {
        var dir = Directory.CreateTempSubdirectory("vsls-tests-").FullName;
        return SampleTopology.WriteTo(dir);
    }

    /// <summary>Waits until a member process's log file contains <paramref name="text"/>; fails the test with the log otherwise.</summary>
    public static async Task WaitForLogLineAsync(string logPath, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            using (var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            using (var reader = new StreamReader(stream))
            {
                if ((await reader.ReadToEndAsync()).Contains(text, StringComparison.Ordinal))
                    return;
            }
            await Task.Delay(100);
        }
        Assert.Fail($"the member did not log '{text}' within {timeout.TotalSeconds:0} s: {File.ReadAllText(logPath)}");
    }
}
