using VslsActors.Cluster.Registry;
using VslsActors.Cluster.Tests.Support;
using VslsActors.Domain;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Tests.Registry;

/// <summary>The registry's decision on <c>dist equal --by load</c>: lists from the loads, manual mode, loads in the audit line.</summary>
public sealed class RegistryEqualByLoadTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    // Four VSs all Active on member-1 (weight 10 each): by weight that is lopsided, by load even more so.
    private static readonly Topology File = TestTopologies.Manual(
        ["member-1", "member-2"], ["member-1,member-2", "member-1,member-2", "member-1,member-2", "member-1,member-2"], failback: "active-up");

    private static VsLoad Load(int vs, double load) => new(new VsId(vs), load);

    [Fact]
    public void Equal_by_load_writes_the_lists_of_the_loads_as_manual_and_records_the_loads()
    {
        var state = RegistryLogic.Initial(File, Now);
        var d = RegistryLogic.Decide(File, state, new RegistryCommands.EqualByLoad([Load(3, 5), Load(1, 60), Load(2, 30), Load(4, 5)], "alice@member-2"), Now);

        Assert.Null(d.Rejection);
        Assert.Equal(1, d.State!.Version);
        Assert.Equal("set distribution to equal by load (loads: 1=60, 2=30, 3=5, 4=5)", d.Description);
        var applied = RegistryLogic.Apply(File, d.State);
        // Manual: a later weight change does not regenerate these lists; failback and weights are kept.
        Assert.Equal(DistributionMode.Manual, applied.Vsls.Distribution);
        Assert.Equal(FailbackMode.ActiveUp, applied.Vsls.Failback);
        Assert.All(applied.VirtualSystems, v => Assert.Equal(File.Find(v.Id)!.Weight, v.Weight));
        var active = PlacementCalculator.ResolvePriorityLists(applied).ToDictionary(l => l.Vs.Value, l => l.Members[0].Value);
        // 60 alone on one member; 30 + 5 + 5 on the other.
        Assert.Equal("member-1", active[1]);
        Assert.Equal(["member-2", "member-2", "member-2"], new[] { active[2], active[3], active[4] });
    }

    [Fact]
    public void Equal_by_load_without_a_load_for_every_vs_or_with_a_bad_one_changes_nothing()
    {
        var state = RegistryLogic.Initial(File, Now);
        var cases = new (VsLoad[] Loads, string Problem)[]
        {
            ([Load(1, 1), Load(2, 1), Load(3, 1)], "no load for VS 4"),
            ([Load(1, 1), Load(2, 1), Load(3, 1), Load(4, -2)], "VS 4 has load -2"),
            ([Load(1, 1), Load(2, 1), Load(3, 1), Load(4, double.NaN)], "VS 4 has load NaN"),
            ([Load(1, 1), Load(2, 1), Load(3, 1), Load(4, 1), Load(9, 1)], "load for VS 9, which is not configured"),
            ([Load(1, 1), Load(2, 1), Load(3, 1), Load(4, 1), Load(4, 2)], "VS 4 has two loads"),
        };
        foreach (var (loads, problem) in cases)
        {
            var d = RegistryLogic.Decide(File, state, new RegistryCommands.EqualByLoad(loads, "ops"), Now);
            Assert.Null(d.State);
            Assert.Contains(problem, d.Rejection);
            Assert.DoesNotContain('\n', d.Rejection!);
        }
    }
}
