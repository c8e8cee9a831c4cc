namespace VslsActors.Cli.Tests;

/// <summary>A member whose topology sets a limit ≤ 0 exits 2 with one line naming the file, line, VS and field.</summary>
public sealed class NodeLimitsPreflightTests
{
    [Theory]
    [InlineData("packets-per-second = 0", "packets-per-second: must be ≥ 1 (got 0)")]
    [InlineData("new-connections-per-second = -5", "new-connections-per-second: must be ≥ 1 (got -5)")]
    public async Task A_topology_with_a_limit_of_zero_or_less_is_refused_before_the_member_starts(string limit, string problem)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("vsls-tests-").FullName, "limits.conf");
        await File.WriteAllTextAsync(file, $$"""
            vsls {
              members = [member-1]
              virtual-systems = [
                { id = 4, name = tenant-d, priority = [member-1], {{limit}} }
              ]
            }
            """);
        var r = await CliRun.InProcessAsync("node", "--topology", file, "--port", "0");

        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.ErrorLines);
        Assert.Equal($"vsls node: topology: {file}:4: virtual system 4 (tenant-d): {problem}; leave it out or write off for no limit", line);
        Assert.DoesNotContain("   at ", r.Error);
    }
}
