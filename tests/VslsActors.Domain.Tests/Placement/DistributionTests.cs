namespace VslsActors.Domain.Tests.Placement;

using VslsActors.Domain.Placement;
using static PlacementTestData;

public sealed class DistributionTests
{
    private static List<(VsId, int)> Weights(params int[] weights) =>
        weights.Select((w, i) => (new VsId(i + 1), w)).ToList();

    [Fact]
    public void Equal_spreads_three_equal_vss_one_active_and_one_standby_per_member()
    {
        // The case where a plain greedy Standby (least loaded, ties by member order) ends 20/10/0.
        var members = Members(3);
        var lists = Distribution.Equal(members, Weights(10, 10, 10));
        var report = Distribution.Imbalance(lists, members);
        Assert.All(report.Members, m => Assert.Equal((10L, 10L), (m.ActiveLoad, m.StandbyLoad)));
    }

    [Fact]
    public void Equal_falls_back_to_the_cyclic_standby_when_the_spreading_heuristic_breaks_the_bound()
    {
        // Found by search: greedy Standby with the "≠ Active" constraint ends with a Standby
        // spread above the largest weight (10) for these weights on three members.
        var members = Members(3);
        var lists = Distribution.Equal(members, Weights(9, 7, 1, 8, 10, 8, 10));
        var report = Distribution.Imbalance(lists, members);
        Assert.True(report.StandbySpread <= 10, $"standby spread {report.StandbySpread}");
        Assert.True(report.ActiveSpread <= 10, $"active spread {report.ActiveSpread}");
        foreach (var l in lists)
        {
            var active = members.IndexOf(l.Members[0]);
            Assert.Equal(members[(active + 1) % 3], l.Members[1]);
        }
    }

    [Fact]
    public void Equal_spreads_one_members_failover_over_several_survivors()
    {
        var members = Members(4);
        var lists = Distribution.Equal(members, Weights(Enumerable.Repeat(10, 12).ToArray()));
        var standbysOfMember1 = lists.Where(l => l.Members[0] == M(1)).Select(l => l.Members[1]).Distinct().Count();
        Assert.Equal(3, standbysOfMember1);
    }

    [Fact]
    public void Equal_balances_the_active_load_by_weight_not_by_count()
    {
        var members = Members(2);
        var lists = Distribution.Equal(members, Weights(30, 10, 10, 10));
        var report = Distribution.Imbalance(lists, members);
        Assert.Equal(0, report.ActiveSpread);
        Assert.Equal([1, 3], report.Members.Select(m => m.ActiveCount));
    }

    [Fact]
    public void Equal_with_one_member_gives_lists_of_that_member_only()
    {
        var lists = Distribution.Equal(Members(1), Weights(10, 20));
        Assert.All(lists, l => Assert.Equal<MemberName>([M(1)], l.Members));
    }

    [Fact]
    public void Equal_with_no_member_gives_empty_lists()
    {
        var lists = Distribution.Equal([], Weights(10));
        Assert.Empty(Assert.Single(lists).Members);
    }

    [Fact]
    public void Equal_does_not_depend_on_the_order_the_vss_are_given_in()
    {
        var members = Members(5);
        var vss = Weights(5, 17, 3, 10, 10, 10, 40, 1, 8);
        var reversed = Enumerable.Reverse(vss).ToList();
        Assert.Equal<VsPriority>(Distribution.Equal(members, vss), Distribution.Equal(members, reversed));
    }

    [Fact]
    public void Backups_are_spread_so_second_takeovers_do_not_all_land_on_one_member()
    {
        var members = Members(4);
        var lists = Distribution.Equal(members, Weights(Enumerable.Repeat(10, 12).ToArray()));
        var third = lists.GroupBy(l => l.Members[2]).Select(g => g.Count()).ToList();
        Assert.Equal(4, third.Count);
        Assert.All(third, c => Assert.Equal(3, c));
    }

    [Fact]
    public void All_on_puts_the_member_first_and_balances_standbys_over_the_others()
    {
        var members = Members(3);
        var lists = Distribution.AllOn(members, Weights(30, 10, 10, 10), M(2));
        Assert.All(lists, l => Assert.Equal(M(2), l.Members[0]));
        var report = Distribution.Imbalance(lists, members);
        Assert.Equal(30, report.Members[0].StandbyLoad);
        Assert.Equal(30, report.Members[2].StandbyLoad);
    }

    [Fact]
    public void All_on_an_unknown_member_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Distribution.AllOn(Members(2), Weights(10), M(3)));
        Assert.StartsWith("all-on member 'member-3' is not a configured member (member-1, member-2)", e.Message);
    }

    [Fact]
    public void Duplicate_vss_or_members_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Distribution.Equal(Members(2), [(new VsId(1), 10), (new VsId(1), 20)]));
        Assert.Throws<ArgumentException>(() => Distribution.Equal([M(1), M(1)], Weights(10)));
    }
}
