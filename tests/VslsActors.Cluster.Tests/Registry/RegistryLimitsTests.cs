using VslsActors.Cluster.Registry;
using VslsActors.Cluster.Tests.Support;
using VslsActors.Domain;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Tests.Registry;

/// <summary>Per-VS limits through the registry: validated all or nothing, audited, kept over the file like weights.</summary>
public sealed class RegistryLimitsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly Topology File = TestTopologies.Manual(
        ["member-1", "member-2", "member-3"], ["member-1,member-2", "member-2,member-3", "member-3"]);

    [Fact]
    public void Set_limits_changes_only_the_given_limits_of_one_vs_and_describes_the_change()
    {
        var s0 = RegistryLogic.Initial(File, Now);
        var d1 = RegistryLogic.Decide(File, s0, new RegistryCommands.SetLimits(new VsId(2), null, "2000", null, "ops@member-1"), Now);
        Assert.Null(d1.Rejection);
        var d2 = RegistryLogic.Decide(File, d1.State!, new RegistryCommands.SetLimits(new VsId(2), "500", null, "50", "ops@member-1"), Now);

        var applied = RegistryLogic.Apply(File, d2.State!);
        var vs2 = applied.Find(new VsId(2))!;
        Assert.Equal((500, (int?)2000, (int?)50), (vs2.MaxConnections, vs2.PacketsPerSecond, vs2.NewConnectionsPerSecond));
        Assert.Equal(File.Find(new VsId(1))!.MaxConnections, applied.Find(new VsId(1))!.MaxConnections);
        Assert.Null(applied.Find(new VsId(1))!.PacketsPerSecond);
        Assert.Equal(2, d2.State!.Version);
        Assert.Equal("set limits of VS 2 to max-connections=500 packets-per-second=2000 new-connections-per-second=50", d2.Description);

        // off lifts a rate limit again.
        var d3 = RegistryLogic.Decide(File, d2.State!, new RegistryCommands.SetLimits(new VsId(2), null, "off", null, "ops"), Now);
        Assert.Null(RegistryLogic.Apply(File, d3.State!).Find(new VsId(2))!.PacketsPerSecond);
    }

    [Theory]
    [InlineData("0", null, null, "set-limits: virtual system 2: max-connections: 0 is not a limit (a whole number from 1 to 1000000000)")]
    [InlineData(null, "-1", null, "set-limits: virtual system 2: packets-per-second: -1 is not a limit (a whole number from 1 to 1000000000, or off for none)")]
    [InlineData("10", "100", "0", "set-limits: virtual system 2: new-connections-per-second: 0 is not a limit (a whole number from 1 to 1000000000, or off for none)")]
    [InlineData(null, "1 000", null, "set-limits: virtual system 2: packets-per-second: '1 000' is not a whole number or off")]
    [InlineData("off", null, null, "set-limits: virtual system 2: max-connections: cannot be off: every VS has a connection-table limit (a whole number ≥ 1)")]
    public void A_limit_of_zero_or_less_is_rejected_naming_the_vs_and_the_field_and_nothing_changes(string? max, string? pps, string? cps, string message)
    {
        var s0 = RegistryLogic.Initial(File, Now);
        var d = RegistryLogic.Decide(File, s0, new RegistryCommands.SetLimits(new VsId(2), max, pps, cps, "ops"), Now);
        Assert.Null(d.State);
        Assert.Equal(message, d.Rejection);
    }

    [Fact]
    public void Limits_of_an_unknown_vs_are_rejected()
    {
        var d = RegistryLogic.Decide(File, RegistryLogic.Initial(File, Now), new RegistryCommands.SetLimits(new VsId(42), "5", null, null, "ops"), Now);
        Assert.Equal("set-limits: virtual system 42: vs-id: not a configured virtual system", d.Rejection);
    }

    [Fact]
    public void Limits_survive_later_changes_of_weights_and_modes()
    {
        var s0 = RegistryLogic.Initial(File, Now);
        var s1 = RegistryLogic.Decide(File, s0, new RegistryCommands.SetLimits(new VsId(3), null, "700", "70", "ops"), Now).State!;
        var s2 = RegistryLogic.Decide(File, s1, new RegistryCommands.SetWeight(new VsId(3), 40, "ops"), Now).State!;
        var s3 = RegistryLogic.Decide(File, s2, new RegistryCommands.SetDistribution(DistributionMode.Equal, null, "ops"), Now).State!;

        var vs3 = RegistryLogic.Apply(File, s3).Find(new VsId(3))!;
        Assert.Equal((40, (int?)700, (int?)70), (vs3.Weight, vs3.PacketsPerSecond, vs3.NewConnectionsPerSecond));
    }
}
