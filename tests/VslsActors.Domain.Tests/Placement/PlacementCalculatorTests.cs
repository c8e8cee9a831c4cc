using VslsActors.Domain.Configuration;

namespace VslsActors.Domain.Tests.Placement;

using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;
using static PlacementTestData;

public sealed class PlacementCalculatorTests
{
    private static readonly MemberState Up = MemberState.Up;
    private static readonly MemberState Down = MemberState.Down;
    private static readonly MemberState Draining = MemberState.Draining;

    [Fact]
    public void Priority_list_positions_give_active_standby_and_backups_when_all_members_are_up()
    {
        var topology = Topology(Members(3), [Vs(1, 10, M(2), M(3), M(1))]);
        var p = PlacementCalculator.Compute(topology, States(Up, Up, Up), null).Find(new VsId(1))!;
        Assert.Equal(M(2), p.Active);
        Assert.Equal(M(3), p.Standby);
        Assert.Equal<MemberName>([M(1)], p.Backups);
    }

    [Fact]
    public void Members_left_out_of_a_priority_list_follow_it_as_last_resort_backups_in_configured_order()
    {
        var topology = Topology(Members(4), [Vs(1, 10, M(3))]);
        var p = PlacementCalculator.Compute(topology, States(Up, Up, Down, Up), null).Find(new VsId(1))!;
        Assert.Equal(M(1), p.Active);
        Assert.Equal(M(2), p.Standby);
        Assert.Equal<MemberName>([M(4)], p.Backups);
    }

    [Fact]
    public void A_name_listed_twice_in_a_priority_list_counts_once()
    {
        var topology = Topology(Members(2), [Vs(1, 10, M(1), M(1), M(2))]);
        var p = PlacementCalculator.Compute(topology, States(Up, Up), null).Find(new VsId(1))!;
        Assert.Equal(M(1), p.Active);
        Assert.Equal(M(2), p.Standby);
        Assert.Empty(p.Backups);
    }

    [Fact]
    public void A_name_the_topology_does_not_configure_is_never_given_a_vs_even_when_reported_up()
    {
        var topology = Topology(Members(2), [Vs(1, 10, new MemberName("member-9"), M(2))]);
        var states = new Dictionary<MemberName, MemberState> { [new MemberName("member-9")] = Up, [M(1)] = Up, [M(2)] = Up };
        var p = PlacementCalculator.Compute(topology, states, null).Find(new VsId(1))!;
        Assert.Equal(M(2), p.Active);
        Assert.Equal(M(1), p.Standby);
        Assert.Empty(p.Backups);
    }

    [Fact]
    public void A_member_missing_from_the_states_is_treated_as_down()
    {
        var topology = Topology(Members(3), [Vs(1, 10, M(1), M(2), M(3))]);
        var states = new Dictionary<MemberName, MemberState> { [M(3)] = Up };
        var p = PlacementCalculator.Compute(topology, states, null).Find(new VsId(1))!;
        Assert.Equal(M(3), p.Active);
        Assert.Null(p.Standby);
        Assert.Empty(p.Backups);
    }

    [Fact]
    public void With_no_member_up_or_draining_a_vs_has_no_active_standby_or_backup()
    {
        var topology = Topology(Members(2), [Vs(1, 10, M(1), M(2))]);
        var p = PlacementCalculator.Compute(topology, States(Down, Down), null).Find(new VsId(1))!;
        Assert.Null(p.Active);
        Assert.Null(p.Standby);
        Assert.Empty(p.Backups);
    }

    [Fact]
    public void A_draining_member_loses_its_vss_to_up_members_but_keeps_them_when_no_member_is_up()
    {
        var topology = Topology(Members(3), [Vs(1, 10, M(1), M(2), M(3))]);

        var drained = PlacementCalculator.Compute(topology, States(Draining, Up, Down), null).Find(new VsId(1))!;
        Assert.Equal(M(2), drained.Active);
        Assert.Equal(M(1), drained.Standby); // only as the last place left

        var lastResort = PlacementCalculator.Compute(topology, States(Draining, Down, Draining), null).Find(new VsId(1))!;
        Assert.Equal(M(1), lastResort.Active);
        Assert.Equal(M(3), lastResort.Standby);
    }

    [Fact]
    public void With_primary_up_a_vs_returns_to_its_first_member_when_that_member_comes_back()
    {
        var topology = Topology(Members(3), [Vs(1, 10, M(1), M(2), M(3))], failback: FailbackMode.PrimaryUp);
        var failedOver = PlacementCalculator.Compute(topology, States(Down, Up, Up), null);
        Assert.Equal(M(2), failedOver.Find(new VsId(1))!.Active);

        var back = PlacementCalculator.Compute(topology, States(Up, Up, Up), failedOver).Find(new VsId(1))!;
        Assert.Equal(M(1), back.Active);
        Assert.Equal(M(2), back.Standby);
    }

    [Fact]
    public void With_active_up_a_vs_stays_where_it_is_and_the_returning_member_becomes_standby()
    {
        var topology = Topology(Members(3), [Vs(1, 10, M(1), M(2), M(3))], failback: FailbackMode.ActiveUp);
        var failedOver = PlacementCalculator.Compute(topology, States(Down, Up, Up), null);
        Assert.Equal(M(2), failedOver.Find(new VsId(1))!.Active);

        var back = PlacementCalculator.Compute(topology, States(Up, Up, Up), failedOver).Find(new VsId(1))!;
        Assert.Equal(M(2), back.Active);
        Assert.Equal(M(1), back.Standby);
        Assert.Equal<MemberName>([M(3)], back.Backups);
    }

    [Fact]
    public void With_active_up_a_vs_leaves_a_draining_active_member_for_an_up_one()
    {
        var topology = Topology(Members(3), [Vs(1, 10, M(1), M(2), M(3))], failback: FailbackMode.ActiveUp);
        var current = PlacementCalculator.Compute(topology, States(Down, Up, Up), null);
        var p = PlacementCalculator.Compute(topology, States(Up, Draining, Up), current).Find(new VsId(1))!;
        Assert.Equal(M(1), p.Active);
        Assert.Equal(M(3), p.Standby);
    }

    [Fact]
    public void Equal_mode_does_not_reshuffle_when_a_member_dies()
    {
        var vss = Enumerable.Range(1, 12).Select(i => Vs(i, 10 + i)).ToList();
        var topology = Topology(Members(4), vss, DistributionMode.Equal);
        var before = PlacementCalculator.Compute(topology, States(Up, Up, Up, Up), null);
        var after = PlacementCalculator.Compute(topology, States(Up, Up, Down, Up), before);
        foreach (var b in before.Vss)
        {
            var a = after.Find(b.Vs)!;
            if (b.Active != M(3) && b.Standby != M(3))
                Assert.Equal((b.Active, b.Standby), (a.Active, a.Standby));
        }
        Assert.Empty(after.ActiveOn(M(3)));
    }

    [Fact]
    public void All_on_without_a_member_is_reported_as_a_configuration_error()
    {
        var topology = Topology(Members(2), [Vs(1, 10)], DistributionMode.AllOn);
        var e = Assert.Throws<ConfigException>(() => PlacementCalculator.Compute(topology, States(Up, Up), null));
        Assert.Equal("topology: vsls.distribution: all-on needs a member (all-on <member>)", e.Message);
    }

    [Fact]
    public void All_on_an_unconfigured_member_is_reported_as_a_configuration_error()
    {
        var topology = Topology(Members(2), [Vs(1, 10)], DistributionMode.AllOn, allOn: M(7));
        var e = Assert.Throws<ConfigException>(() => PlacementCalculator.Compute(topology, States(Up, Up), null));
        Assert.Equal("topology: vsls.distribution: all-on member 'member-7' is not a configured member (member-1, member-2)", e.Message);
    }

    [Fact]
    public void A_virtual_system_defined_twice_is_reported_as_a_configuration_error()
    {
        var topology = Topology(Members(2), [Vs(4, 10), Vs(4, 20)]);
        var e = Assert.Throws<ConfigException>(() => PlacementCalculator.Compute(topology, States(Up, Up), null));
        Assert.Equal("topology: virtual system 4: id: the virtual system is defined twice", e.Message);
    }

    [Fact]
    public void Placement_helpers_report_vss_and_weighted_load_per_member()
    {
        var topology = Topology(Members(2), [Vs(3, 5, M(1), M(2)), Vs(1, 20, M(2), M(1)), Vs(2, 7, M(1), M(2))]);
        var placement = PlacementCalculator.Compute(topology, States(Up, Up), null);
        Assert.Equal([new VsId(1), new VsId(2), new VsId(3)], placement.Vss.Select(p => p.Vs));
        Assert.Equal<VsId>([new VsId(2), new VsId(3)], placement.ActiveOn(M(1)));
        Assert.Equal<VsId>([new VsId(1)], placement.StandbyOn(M(1)));
        Assert.Equal(12, placement.ActiveLoad(M(1)));
        Assert.Equal(20, placement.ActiveLoad(M(2)));
        Assert.Equal(12, placement.StandbyLoad(M(2)));
        Assert.Null(placement.Find(new VsId(9)));
        Assert.Equal(VsRole.Standby, placement.Find(new VsId(1))!.RoleOf(M(1)));
        Assert.Equal(VsRole.None, placement.Find(new VsId(1))!.RoleOf(M(5)));

        var report = Distribution.Imbalance(placement, topology.Members);
        Assert.Equal(8, report.ActiveSpread);
        Assert.Equal(2, report.Members[0].ActiveCount);
    }

    [Fact]
    public void A_placement_with_a_vs_twice_is_refused()
    {
        var p = new VsPlacement(new VsId(1), M(1), null, []);
        Assert.Throws<ArgumentException>(() => Placement.From([p, p]));
    }

    [Fact]
    public void Effective_priority_lists_complete_written_lists_and_follow_the_distribution_mode()
    {
        var manual = Topology(Members(3), [Vs(2, 10, M(3)), Vs(1, 10, M(2), M(1))]);
        Assert.Equal(
            ["1 10 member-2,member-1,member-3", "2 10 member-3,member-1,member-2"],
            PlacementCalculator.ResolvePriorityLists(manual).Select(p => p.ToString()));

        var allOn = manual with { Vsls = new VslsSettings(DistributionMode.AllOn, M(2)) };
        Assert.All(PlacementCalculator.ResolvePriorityLists(allOn), p => Assert.Equal(M(2), p.Members[0]));
    }
}
