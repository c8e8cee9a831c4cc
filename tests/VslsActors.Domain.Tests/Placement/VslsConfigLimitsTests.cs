using VslsActors.Domain.Configuration;

namespace VslsActors.Domain.Tests.Placement;

using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;
using static PlacementTestData;

public sealed class VslsConfigLimitsTests
{
    private static Topology Sample() => Topology(Members(3), [Vs(1, 20, M(1), M(2), M(3)), Vs(2, 10, M(2), M(3), M(1))], DistributionMode.Manual);

    [Fact]
    public void A_limits_line_sets_the_three_limits_of_its_vs_and_leaves_the_others()
    {
        var topology = VslsConfigFile.Import(Sample(),
            "limits 2 packets-per-second=5000 new-connections-per-second=off max-connections=300   # tenant B", "vsls.txt");
        var vs2 = topology.Find(new VsId(2))!;
        Assert.Equal((300, (int?)5000, (int?)null), (vs2.MaxConnections, vs2.PacketsPerSecond, vs2.NewConnectionsPerSecond));
        Assert.Equal(VsLimits.Of(Sample().Find(new VsId(1))!), VsLimits.Of(topology.Find(new VsId(1))!));
    }

    [Fact]
    public void Export_then_import_keeps_every_limit()
    {
        var limited = VslsConfigFile.Import(Sample(),
            "limits 1 max-connections=50 packets-per-second=100 new-connections-per-second=10", "vsls.txt");
        var again = VslsConfigFile.Import(Sample(), VslsConfigFile.Export(limited, DateTimeOffset.UnixEpoch), "export");
        Assert.Equal(VslsConfigFile.LimitsOf(limited).ToArray(), VslsConfigFile.LimitsOf(again).ToArray());
        Assert.Equal(new VsLimits(new VsId(1), 50, 100, 10), VslsConfigFile.LimitsOf(again)[0]);
    }

    [Theory]
    [InlineData("limits 1 max-connections=0 packets-per-second=off new-connections-per-second=off",
        "vsls.txt:1: virtual system 1: max-connections: 0 is not a limit (a whole number from 1 to 1000000000)")]
    [InlineData("limits 1 max-connections=10 packets-per-second=-3 new-connections-per-second=off",
        "vsls.txt:1: virtual system 1: packets-per-second: -3 is not a limit (a whole number from 1 to 1000000000, or off for none)")]
    [InlineData("limits 1 max-connections=10 packets-per-second=off new-connections-per-second=0",
        "vsls.txt:1: virtual system 1: new-connections-per-second: 0 is not a limit (a whole number from 1 to 1000000000, or off for none)")]
    [InlineData("limits 1 max-connections=off packets-per-second=off new-connections-per-second=off",
        "vsls.txt:1: virtual system 1: max-connections: cannot be off: every VS has a connection-table limit (a whole number ≥ 1)")]
    [InlineData("limits 1 max-connections=10 packets-per-second=lots new-connections-per-second=off",
        "vsls.txt:1: virtual system 1: packets-per-second: 'lots' is not a whole number or off")]
    [InlineData("limits 1 max-connections=10 packets-per-second=off",
        "vsls.txt:1: virtual system 1: new-connections-per-second: missing (expected 'limits <vs-id> max-connections=<n> packets-per-second=<n>|off new-connections-per-second=<n>|off')")]
    [InlineData("limits 1 max-connections=10 pps=5 new-connections-per-second=off",
        "vsls.txt:1: virtual system 1: limits: unknown field 'pps' (fields: max-connections, packets-per-second, new-connections-per-second)")]
    [InlineData("limits 4 max-connections=10 packets-per-second=off new-connections-per-second=off",
        "vsls.txt:1: virtual system 4: vs-id: not a configured virtual system")]
    [InlineData("limits 1 max-connections=1 packets-per-second=off new-connections-per-second=off\nlimits 1 max-connections=2 packets-per-second=off new-connections-per-second=off",
        "vsls.txt:2: virtual system 1: limits: listed twice (first on line 1)")]
    public void A_bad_limits_line_is_refused_naming_the_line_the_vs_and_the_field(string text, string message)
    {
        var e = Assert.Throws<ConfigException>(() => VslsConfigFile.Import(Sample(), text, "vsls.txt"));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void A_document_built_in_code_with_a_limit_of_zero_is_refused_and_nothing_changes()
    {
        var doc = new VslsConfigDocument([], Limits: [new VsLimits(new VsId(1), 10, 0, null)]);
        var e = Assert.Throws<ConfigException>(() => VslsConfigFile.Apply(Sample(), doc, "api"));
        Assert.Equal("api: virtual system 1: packets-per-second: 0 is not a limit (a whole number from 1 to 1000000000, or off for none)", e.Message);
    }
}
