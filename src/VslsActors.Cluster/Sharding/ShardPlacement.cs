using System.Collections.Immutable;
using VslsActors.Domain;
using VslsActors.Domain.Placement;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// The decisions of the VSLS allocation strategy, over member names rather than actor refs, so they
/// are plain functions that tests call without a cluster. The strategy maps regions to member names,
/// calls these, and maps the answer back to a region.
/// </summary>
public static class ShardPlacement
{
    /// <summary>
    /// The member a VS's shard should be allocated to: its Active member when that member has a
    /// region, otherwise the next of its Standby and Backups that has one (a member that has just
    /// joined may not have registered its region with the coordinator yet; <c>Rebalance</c> moves the
    /// VS to its Active member once it has). Null when no candidate has a region.
    /// </summary>
    /// <param name="placement">The VS's placement (null: the VS is not configured).</param>
    /// <param name="membersWithRegion">Up or Draining members whose region the coordinator knows.</param>
    public static MemberName? ChooseHome(VsPlacement? placement, IReadOnlySet<MemberName> membersWithRegion)
    {
        ArgumentNullException.ThrowIfNull(membersWithRegion);
        if (placement is null)
            return null;
        if (placement.Active is { } active && membersWithRegion.Contains(active))
            return active;
        if (placement.Standby is { } standby && membersWithRegion.Contains(standby))
            return standby;
        foreach (var backup in placement.Backups)
        {
            if (membersWithRegion.Contains(backup))
                return backup;
        }
        return null;
    }

    /// <summary>
    /// The shards a rebalance round moves: those whose current member differs from the Active member
    /// placement wants, when that member has a region and the current member can hand off (Up or
    /// Draining with a region: a shard on an unreachable member is not asked to hand off, it would
    /// only wait for the hand-off timeout; it is reallocated when that member is downed). Shards in
    /// <paramref name="inProgress"/> are left out and count against <paramref name="maxMoves"/>, so at
    /// most <paramref name="maxMoves"/> VSs are moving at any time. Lower VS ids move first, so the
    /// order is deterministic.
    /// </summary>
    /// <param name="placement">The placement of every configured VS.</param>
    /// <param name="current">Each allocated shard id and the member its region belongs to (null: unknown member).</param>
    /// <param name="membersWithRegion">Up or Draining members whose region the coordinator knows.</param>
    /// <param name="inProgress">Shards already being moved.</param>
    /// <param name="maxMoves">The most moves in flight at once (≥ 1).</param>
    public static ImmutableArray<string> ShardsToMove(
        Placement placement,
        IReadOnlyDictionary<string, MemberName?> current,
        IReadOnlySet<MemberName> membersWithRegion,
        IReadOnlySet<string> inProgress,
        int maxMoves)
    {
        ArgumentNullException.ThrowIfNull(placement);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(membersWithRegion);
        ArgumentNullException.ThrowIfNull(inProgress);
        var budget = maxMoves - inProgress.Count;
        if (budget <= 0)
            return [];

        var candidates = new List<(VsId Vs, string Shard)>();
        foreach (var (shard, member) in current)
        {
            if (inProgress.Contains(shard) || member is not { } from || !membersWithRegion.Contains(from))
                continue;
            if (!VsId.TryParse(shard, out var vs))
                continue;
            if (placement.Find(vs)?.Active is not { } to || to == from || !membersWithRegion.Contains(to))
                continue;
            candidates.Add((vs, shard));
        }
        candidates.Sort(static (a, b) => a.Vs.CompareTo(b.Vs));
        var moves = ImmutableArray.CreateBuilder<string>(Math.Min(budget, candidates.Count));
        for (var i = 0; i < candidates.Count && moves.Count < budget; i++)
            moves.Add(candidates[i].Shard);
        return moves.ToImmutable();
    }

    /// <summary>
    /// The placement the cluster runs now, as <c>current</c> for <c>active-up</c>: each allocated
    /// VS Active on the member its shard is on. Shards on unknown members are left out.
    /// </summary>
    public static Placement Observed(IReadOnlyDictionary<string, MemberName?> current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var vss = new List<VsPlacement>(current.Count);
        foreach (var (shard, member) in current)
        {
            if (member is { } m && VsId.TryParse(shard, out var vs))
                vss.Add(new VsPlacement(vs, m, null, []));
        }
        return Placement.From(vss);
    }
}
