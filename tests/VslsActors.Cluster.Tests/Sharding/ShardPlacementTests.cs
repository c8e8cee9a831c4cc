using System.Collections.Immutable;
using VslsActors.Cluster.Sharding;
using VslsActors.Domain;
using VslsActors.Domain.Placement;

namespace VslsActors.Cluster.Tests.Sharding;

/// <summary>The allocation strategy's decisions, as plain functions over member names.</summary>
public sealed class ShardPlacementTests
{
    private static readonly MemberName M1 = new("member-1"), M2 = new("member-2"), M3 = new("member-3");

    private static VsPlacement P(int vs, MemberName active, MemberName standby, params MemberName[] backups) =>
        new(new VsId(vs), active, standby, [.. backups]);

    [Fact]
    public void A_vs_goes_to_its_active_member_when_that_member_has_a_region()
    {
        Assert.Equal(M2, ShardPlacement.ChooseHome(P(1, M2, M3, M1), new HashSet<MemberName> { M1, M2, M3 }));
    }

    [Fact]
    public void Without_a_region_on_the_active_member_a_vs_goes_to_the_next_candidate_that_has_one()
    {
        Assert.Equal(M3, ShardPlacement.ChooseHome(P(1, M2, M3, M1), new HashSet<MemberName> { M1, M3 }));
        Assert.Equal(M1, ShardPlacement.ChooseHome(P(1, M2, M3, M1), new HashSet<MemberName> { M1 }));
        Assert.Null(ShardPlacement.ChooseHome(P(1, M2, M3), new HashSet<MemberName> { M1 }));
        Assert.Null(ShardPlacement.ChooseHome(null, new HashSet<MemberName> { M1 }));
    }

    [Fact]
    public void Rebalance_moves_only_misplaced_vss_lowest_id_first_within_the_budget()
    {
        var placement = Placement.From([P(1, M1, M2), P(2, M1, M2), P(3, M1, M2), P(4, M2, M1)]);
        var current = new Dictionary<string, MemberName?> { ["1"] = M2, ["2"] = M2, ["3"] = M2, ["4"] = M2 };

        var moves = ShardPlacement.ShardsToMove(placement, current, new HashSet<MemberName> { M1, M2 }, new HashSet<string>(), 2);

        Assert.Equal(["1", "2"], moves.ToArray());
    }

    [Fact]
    public void Rebalance_leaves_out_shards_in_progress_and_counts_them_against_the_budget()
    {
        var placement = Placement.From([P(1, M1, M2), P(2, M1, M2), P(3, M1, M2)]);
        var current = new Dictionary<string, MemberName?> { ["1"] = M2, ["2"] = M2, ["3"] = M2 };

        var moves = ShardPlacement.ShardsToMove(placement, current, new HashSet<MemberName> { M1, M2 }, new HashSet<string> { "1" }, 2);

        Assert.Equal(["2"], moves.ToArray());
        Assert.Empty(ShardPlacement.ShardsToMove(placement, current, new HashSet<MemberName> { M1, M2 }, new HashSet<string> { "1", "2" }, 2));
    }

    [Fact]
    public void Rebalance_does_not_move_from_an_unreachable_member_nor_to_a_member_without_a_region()
    {
        var placement = Placement.From([P(1, M1, M2), P(2, M3, M1)]);
        // VS 1 sits on a member that is not Up (mapped to null); VS 2's Active member has no region.
        var current = new Dictionary<string, MemberName?> { ["1"] = null, ["2"] = M1 };

        Assert.Empty(ShardPlacement.ShardsToMove(placement, current, new HashSet<MemberName> { M1, M2 }, new HashSet<string>(), 5));
    }

    [Fact]
    public void The_observed_placement_puts_each_allocated_vs_on_its_current_member()
    {
        var observed = ShardPlacement.Observed(new Dictionary<string, MemberName?> { ["2"] = M3, ["1"] = M1, ["5"] = null });

        Assert.Equal([new VsId(1), new VsId(2)], observed.Vss.Select(p => p.Vs).ToArray());
        Assert.Equal(M3, observed.Find(new VsId(2))!.Active);
    }
}
