namespace VslsActors.Cli.Tests;

/// <summary>A member whose config file sets an unusable <c>vsls.overload</c> value exits 2 with one line naming the file and the key.</summary>
public sealed class NodeOverloadPreflightTests
{
    [Theory]
    [InlineData("vsls.overload.exit-latency = 500ms", "vsls.overload.exit-latency: must be ≤ enter-latency (500 ms > 200 ms)")]
    [InlineData("vsls.overload.tick = 0s", "vsls.overload.tick: must be > 0 (got 0 ms)")]
    public async Task An_unusable_overload_setting_is_refused_before_the_member_starts(string setting, string problem)
    {
        var folder = Directory.CreateTempSubdirectory("vsls-tests-").FullName;
        var topology = Path.Combine(folder, "topology.conf");
        var config = Path.Combine(folder, "node.conf");
        await File.WriteAllTextAsync(topology, """
            vsls {
              members = [member-1]
              virtual-systems = [ { id = 1, name = a, priority = [member-1] } ]
            }
            """);
        await File.WriteAllTextAsync(config, setting + "\n");
        var r = await CliRun.InProcessAsync("node", "--topology", topology, "--config", config, "--port", "0");

        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"vsls node: {config}: {problem}", Assert.Single(r.ErrorLines));
        Assert.DoesNotContain("   at ", r.Error);
    }
}
