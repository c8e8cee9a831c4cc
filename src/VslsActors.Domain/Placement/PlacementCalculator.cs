using System.Collections.Immutable;
using System.Runtime.InteropServices;
using VslsActors.Domain.Configuration;

namespace VslsActors.Domain.Placement;

using VslsActors.Domain.Topology;

/// <summary>
/// The placement function: from the topology, the members' states and (for
/// <see cref="FailbackMode.ActiveUp"/>) the current placement, where every VS is Active, which
/// member is its Standby and which are its Backups. Pure, deterministic and allocation-light:
/// the cluster's shard-allocation strategy calls it on every membership change.
/// </summary>
/// <remarks>
/// <para><b>Priority lists</b> come from the distribution mode: <c>manual</c> uses each VS's
/// list as written; <c>equal</c> uses <see cref="Distribution.Equal"/> and <c>all-on</c>
/// <see cref="Distribution.AllOn"/>, both over all configured members, so a member dying never
/// reshuffles the VSs that were not on it.</para>
/// <para><b>Effective list</b> of a VS = its priority list (a name listed twice counts once; a
/// name the topology does not configure is skipped) followed by the configured members it
/// leaves out, in configured order. Those last-resort Backups mean a VS always has somewhere to
/// run while any member is left.</para>
/// <para><b>Ranking</b>: the Up members of the effective list in list order, then its Draining
/// members in list order; Down members (and members missing from the states) never appear.
/// So a Draining member hosts a VS only when no Up member is left, and is Standby only when
/// no other Up member is.</para>
/// <para><b>Active</b>: with <c>primary-up</c> the first ranked member. With <c>active-up</c>
/// the VS stays on its current Active while that member is Up (or, when no member is Up, while
/// it is Draining), otherwise the first ranked member. <b>Standby</b> is the first ranked
/// member other than the Active, <b>Backups</b> the rest in rank order. With nothing Up or
/// Draining, Active and Standby are null and Backups empty.</para>
/// <para>It follows that when a member goes Down only the VSs Active or Standby there change
/// Active or Standby, and a VS whose Active goes Down becomes Active on its Standby.</para>
/// </remarks>
public static class PlacementCalculator
{
    private const string Source = "topology";

    /// <summary>
    /// Places every VS of <paramref name="topology"/>. A member absent from
    /// <paramref name="members"/> is Down; <paramref name="current"/> is read only with
    /// <see cref="FailbackMode.ActiveUp"/> (null: no VS has a current Active).
    /// </summary>
    /// <exception cref="ConfigException">The topology cannot be placed: a member or VS id listed
    /// twice, a negative weight, or <c>all-on</c> without a configured member.</exception>
    public static Placement Compute(Topology topology, IReadOnlyDictionary<MemberName, MemberState> members, Placement? current)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(members);
        var lists = ResolveWritten(topology);
        var configured = topology.Members.AsSpan();
        var n = configured.Length;

        // States of configured members, looked up once rather than per VS.
        var configuredState = new MemberState[n];
        for (var i = 0; i < n; i++)
            configuredState[i] = members.TryGetValue(configured[i], out var s) ? s : MemberState.Down;

        // An effective list holds each configured member once: n entries at most.
        var eff = new MemberName[n];
        var effState = new MemberState[n];
        var ranked = new MemberName[n];
        var rankedState = new MemberState[n];
        var configuredUsed = new bool[n];
        var activeUp = topology.Vsls.Failback == FailbackMode.ActiveUp && current is not null;

        var result = new VsPlacement[lists.Length];
        for (var v = 0; v < lists.Length; v++)
        {
            var count = Effective(lists[v].Members.AsSpan(), configured, configuredState, configuredUsed, eff, effState);

            var r = 0;
            for (var i = 0; i < count; i++)
            {
                if (effState[i] == MemberState.Up)
                {
                    rankedState[r] = MemberState.Up;
                    ranked[r++] = eff[i];
                }
            }
            var anyUp = r > 0;
            for (var i = 0; i < count; i++)
            {
                if (effState[i] == MemberState.Draining)
                {
                    rankedState[r] = MemberState.Draining;
                    ranked[r++] = eff[i];
                }
            }

            if (r == 0)
            {
                result[v] = new VsPlacement(lists[v].Vs, null, null, [], lists[v].Weight);
                continue;
            }

            var activeIndex = 0;
            if (activeUp && current!.Find(lists[v].Vs)?.Active is { } was)
            {
                for (var i = 0; i < r; i++)
                {
                    // Stay on an Up member; on a Draining one only while nothing is Up.
                    if (ranked[i] == was && (rankedState[i] == MemberState.Up || !anyUp))
                    {
                        activeIndex = i;
                        break;
                    }
                }
            }
            var standbyIndex = activeIndex == 0 ? 1 : 0;
            MemberName? standby = standbyIndex < r ? ranked[standbyIndex] : null;
            var backupCount = Math.Max(0, r - 2);
            var backups = backupCount == 0 ? [] : new MemberName[backupCount];
            var b = 0;
            for (var i = 0; i < r; i++)
            {
                if (i != activeIndex && i != standbyIndex)
                    backups[b++] = ranked[i];
            }
            result[v] = new VsPlacement(lists[v].Vs, ranked[activeIndex], standby, ImmutableCollectionsMarshal.AsImmutableArray(backups), lists[v].Weight);
        }
        return Placement.FromSortedUnchecked(result);
    }

    /// <summary>
    /// Every VS's effective priority list (see the type's remarks) under the topology's
    /// distribution mode, sorted by VS id: what <c>dist show</c> displays and what an export writes.
    /// </summary>
    /// <exception cref="ConfigException">As for <see cref="Compute"/>.</exception>
    public static ImmutableArray<VsPriority> ResolvePriorityLists(Topology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var lists = ResolveWritten(topology);
        var configured = topology.Members.AsSpan();
        var n = configured.Length;
        var upAll = new MemberState[n];
        var configuredUsed = new bool[n];
        var result = new VsPriority[lists.Length];
        for (var v = 0; v < lists.Length; v++)
        {
            var written = lists[v].Members.AsSpan();
            var eff = new MemberName[n];
            var effState = new MemberState[n];
            var count = Effective(written, configured, upAll, configuredUsed, eff, effState);
            result[v] = lists[v] with { Members = ImmutableCollectionsMarshal.AsImmutableArray(eff.AsSpan(0, count).ToArray()) };
        }
        return ImmutableCollectionsMarshal.AsImmutableArray(result);
    }

    /// <summary>Writes the effective list and each entry's state into the buffers; returns its length.</summary>
    private static int Effective(
        ReadOnlySpan<MemberName> written,
        ReadOnlySpan<MemberName> configured,
        MemberState[] configuredState,
        bool[] configuredUsed,
        MemberName[] eff,
        MemberState[] effState)
    {
        Array.Clear(configuredUsed);
        var count = 0;
        foreach (var m in written)
        {
            // A name the topology does not configure is a typo the topology loader reports;
            // placement never puts a VS on a member outside the configured cluster. A name
            // already taken is a repeat and counts once.
            var c = IndexOf(configured, m);
            if (c < 0 || configuredUsed[c])
                continue;
            configuredUsed[c] = true;
            eff[count] = m;
            effState[count++] = configuredState[c];
        }
        for (var c = 0; c < configured.Length; c++)
        {
            if (!configuredUsed[c])
            {
                eff[count] = configured[c];
                effState[count++] = configuredState[c];
            }
        }
        return count;
    }

    /// <summary>
    /// Linear search with a plain ordinal string compare: with at most 13 members this beats
    /// hashing, and the names in generated lists are the configured instances, so the
    /// reference check inside <see cref="string.Equals(string, string)"/> usually answers at once.
    /// </summary>
    private static int IndexOf(ReadOnlySpan<MemberName> configured, MemberName m)
    {
        var name = m.Value;
        for (var i = 0; i < configured.Length; i++)
        {
            if (string.Equals(configured[i].Value, name))
                return i;
        }
        return -1;
    }

    /// <summary>
    /// The lists the distribution mode asks for (manual: as written, not yet completed), sorted
    /// by VS id, after checking what would make placement ambiguous.
    /// </summary>
    private static VsPriority[] ResolveWritten(Topology topology)
    {
        var configured = topology.Members.AsSpan();
        for (var i = 0; i < configured.Length; i++)
        {
            if (configured[..i].Contains(configured[i]))
                throw new ConfigException(Source, null, null, "members", $"member '{configured[i]}' is listed twice");
        }

        var vss = topology.VirtualSystems.AsSpan();
        var sorted = new VirtualSystemConfig[vss.Length];
        vss.CopyTo(sorted);
        Array.Sort(sorted, static (a, b) => a.Id.CompareTo(b.Id));
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i > 0 && sorted[i].Id == sorted[i - 1].Id)
                throw new ConfigException(Source, null, sorted[i].Id.ToString(), "id", "the virtual system is defined twice");
            if (sorted[i].Weight < 0)
                throw new ConfigException(Source, null, sorted[i].Id.ToString(), "weight", $"weight {sorted[i].Weight} is negative");
        }

        var settings = topology.Vsls;
        if (settings.Distribution == DistributionMode.Manual)
        {
            var written = new VsPriority[sorted.Length];
            for (var i = 0; i < sorted.Length; i++)
                written[i] = new VsPriority(sorted[i].Id, sorted[i].Weight, sorted[i].Priority.IsDefault ? [] : sorted[i].Priority);
            return written;
        }

        var weights = new (VsId Vs, int Weight)[sorted.Length];
        for (var i = 0; i < sorted.Length; i++)
            weights[i] = (sorted[i].Id, sorted[i].Weight);
        var members = topology.Members;
        if (settings.Distribution == DistributionMode.Equal)
            return ImmutableCollectionsMarshal.AsArray(Distribution.Equal(members, weights))!;

        if (settings.AllOnMember is not { } home)
            throw new ConfigException(Source, null, null, "vsls.distribution", "all-on needs a member (all-on <member>)");
        if (!configured.Contains(home))
            throw new ConfigException(Source, null, null, "vsls.distribution", $"all-on member '{home}' is not a configured member ({string.Join(", ", members)})");
        return ImmutableCollectionsMarshal.AsArray(Distribution.AllOn(members, weights, home))!;
    }
}
