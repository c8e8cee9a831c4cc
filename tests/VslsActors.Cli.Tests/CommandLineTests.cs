namespace VslsActors.Cli.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_lists_the_node_and_demo_commands_and_exits_zero()
    {
        var r = await CliRun.InProcessAsync("--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("node", r.Output);
        Assert.Contains("demo", r.Output);
    }

    [Fact]
    public async Task Demo_help_shows_every_documented_option()
    {
        var r = await CliRun.InProcessAsync("demo", "--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var o in new[] { "--duration", "--failover-at", "--members", "--no-failover", "--json", "--rate", "--connections", "--db", "--topology" })
            Assert.Contains(o, r.Output);
    }

    [Theory]
    [InlineData("demo", "--bogus")]
    [InlineData("node", "--prot", "4053")]
    [InlineData("frobnicate")]
    public async Task Unknown_options_and_commands_give_one_line_and_exit_2(params string[] args)
    {
        var r = await CliRun.InProcessAsync(args);
        Assert.Equal(2, r.ExitCode);
        // One line per problem, then one hint.
        Assert.All(r.ErrorLines[..^1], line => Assert.StartsWith("vsls: ", line));
        Assert.Contains(r.ErrorLines, line => line.Contains(args.Length > 1 ? args[1] : args[0]));
        Assert.Contains("--help", r.ErrorLines[^1]);
        Assert.DoesNotContain("   at ", r.Error);
        Assert.Equal("", r.Output);
    }

    [Theory]
    [InlineData("--duration", "3x", "--duration: '3x' is not a duration")]
    [InlineData("--members", "0", "--members: 0 is outside 1-64")]
    [InlineData("--rate", "fast", "fast")]
    public async Task Bad_demo_values_name_the_option(string option, string value, string expected)
    {
        var r = await CliRun.InProcessAsync("demo", option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.ErrorLines[0]);
    }

    [Fact]
    public async Task A_failover_after_the_end_of_traffic_is_refused_before_anything_starts()
    {
        var r = await CliRun.InProcessAsync("demo", "--duration", "10s", "--failover-at", "12s");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("vsls: --failover-at (12s) must be after the start and before --duration (10s)", r.ErrorLines.Single());
    }

    [Fact]
    public async Task A_failover_with_one_member_is_refused()
    {
        var r = await CliRun.InProcessAsync("demo", "--members", "1");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("at least 2 members", r.ErrorLines.Single());
    }

    [Fact]
    public async Task More_demo_members_than_the_topology_names_is_one_line()
    {
        var r = await CliRun.InProcessAsync("demo", "--members", "5", "--json");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--members 5: the topology", r.ErrorLines[0]);
        Assert.Contains("names only 3 members", r.ErrorLines[0]);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("1500ms", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("2.5", 2_500)]
    [InlineData("1h", 3_600_000)]
    public void Durations_are_read_with_their_units(string text, double milliseconds)
    {
        Assert.True(DurationParser.TryParse(text, out var value, out _));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-3s")]
    [InlineData("s")]
    [InlineData("10 minutes")]
    public void Non_durations_are_refused(string text)
    {
        Assert.False(DurationParser.TryParse(text, out _, out var error));
        Assert.Contains("is not a duration", error);
    }

    [Fact]
    public void The_sample_topology_ships_inside_vsls_and_loads()
    {
        var topology = VslsActors.Domain.Topology.TopologyLoader.Parse(SampleTopology.Text(), "sample");
        Assert.Equal(3, topology.Members.Length);
        Assert.Equal(12, topology.VirtualSystems.Length);
    }
}
