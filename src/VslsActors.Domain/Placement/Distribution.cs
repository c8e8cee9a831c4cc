using System.Collections.Immutable;
using System.Runtime.InteropServices;

namespace VslsActors.Domain.Placement;

/// <summary>
/// Generates priority lists: the <c>equal</c> and <c>all-on &lt;member&gt;</c> distribution modes
/// (<c>vsx_util vsls</c> options 2 and 3), and measures how balanced a placement or a set of
/// lists is. Pure and deterministic: the result depends on the members' configured order, the
/// VSs' ids and weights, never on the order the VSs are given in.
/// </summary>
/// <remarks>
/// Lists are generated over <b>all configured members</b>, whatever their state. <c>equal</c> is
/// an admin action that writes priority lists; if it were recomputed over the members that are
/// Up, one member dying would reshuffle every VS instead of failing over only the VSs that were
/// Active or Standby on it.
/// </remarks>
public static class Distribution
{
    /// <summary>
    /// Priority lists (every member, once each) such that, with all members Up, the weighted
    /// Active loads of any two members differ by at most the largest VS weight, the weighted
    /// Standby loads likewise, and no VS has its Active and Standby on one member.
    /// </summary>
    /// <remarks>
    /// <para><b>Active</b> (position 0): greedy longest-processing-time — VSs by weight
    /// descending then id ascending, each to the member with the least Active load, ties to
    /// the earlier configured member. Assigning to the least-loaded member never lets the
    /// spread exceed the largest weight.</para>
    /// <para><b>Standby</b> (position 1): first a spreading heuristic — the member other than
    /// the Active with the least Standby load; ties to the member that already backs up the
    /// fewest (by weight) of this Active's VSs, so a dead member's VSs fail over to several
    /// survivors rather than one; then to the nearest member after the Active in cyclic
    /// configured order. The "≠ Active" constraint means greedy alone can break the bound
    /// (three members, three equal VSs: 20/10/0), so the result is checked, and if the
    /// Standby spread exceeds the largest weight every Standby is replaced by the member after
    /// its Active in cyclic order: the Standby load of each member is then exactly the Active
    /// load of the member before it, so the Active bound carries over.</para>
    /// <para><b>Backups</b> (positions 2+): each position in turn gets the unused member with
    /// the least weight already at that position, ties by cyclic distance from the Active, so
    /// the second and later takeovers spread too.</para>
    /// <para>One member: lists of that member only (no Standby). No member: empty lists.</para>
    /// </remarks>
    /// <param name="members">The configured members, in configured order (no duplicates).</param>
    /// <param name="vss">The VSs and their weights (≥ 0; no duplicate ids), in any order.</param>
    /// <returns>One list per VS, sorted by VS id.</returns>
    /// <exception cref="ArgumentException">Duplicate members or VS ids, or a negative weight.</exception>
    public static ImmutableArray<VsPriority> Equal(IReadOnlyList<MemberName> members, IReadOnlyList<(VsId Vs, int Weight)> vss)
    {
        ArgumentNullException.ThrowIfNull(vss);
        var loaded = new (VsId Vs, int Weight, double Load)[vss.Count];
        for (var i = 0; i < loaded.Length; i++)
            loaded[i] = (vss[i].Vs, vss[i].Weight, vss[i].Weight);
        return EqualCore(members, loaded);
    }

    /// <summary>
    /// <c>dist equal --by load</c>: the lists <see cref="Equal"/> generates, with each VS's
    /// measured <c>Load</c> in place of its weight, so that with all members Up the measured
    /// Active loads of any two members differ by at most the largest VS load (Standby likewise).
    /// The lists carry each VS's configured <c>Weight</c> unchanged: a load is a measurement,
    /// not configuration, so it is never written back as a weight.
    /// </summary>
    /// <param name="members">The configured members, in configured order (no duplicates).</param>
    /// <param name="vss">The VSs with their configured weights and measured loads (finite, ≥ 0; no duplicate ids), in any order.</param>
    /// <returns>One list per VS, sorted by VS id.</returns>
    /// <exception cref="ArgumentException">Duplicate members or VS ids, a negative weight, or a negative, NaN or infinite load.</exception>
    public static ImmutableArray<VsPriority> EqualByLoad(IReadOnlyList<MemberName> members, IReadOnlyList<(VsId Vs, int Weight, double Load)> vss)
    {
        ArgumentNullException.ThrowIfNull(vss);
        var loaded = new (VsId Vs, int Weight, double Load)[vss.Count];
        for (var i = 0; i < loaded.Length; i++)
        {
            loaded[i] = vss[i];
            if (!double.IsFinite(loaded[i].Load) || loaded[i].Load < 0)
                throw new ArgumentException($"virtual system {loaded[i].Vs} has load {loaded[i].Load}; a load is a non-negative number", nameof(vss));
        }
        return EqualCore(members, loaded);
    }

    /// <summary>
    /// Measured Active load per member of <paramref name="lists"/> as if every member were Up
    /// (position 0 counts), in the order of <paramref name="members"/>; a VS missing from
    /// <paramref name="loads"/> counts 0.
    /// </summary>
    public static double[] ActiveLoads(IReadOnlyList<VsPriority> lists, IReadOnlyList<MemberName> members, IReadOnlyDictionary<VsId, double> loads)
    {
        ArgumentNullException.ThrowIfNull(lists);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(loads);
        var result = new double[members.Count];
        foreach (var l in lists)
        {
            var a = l.Members.Length > 0 ? IndexOf(members, l.Members[0]) : -1;
            if (a >= 0 && loads.TryGetValue(l.Vs, out var load))
                result[a] += load;
        }
        return result;
    }

    /// <summary>The algorithm of <see cref="Equal"/> over <c>Load</c> (the weight itself when by weight).</summary>
    private static ImmutableArray<VsPriority> EqualCore(IReadOnlyList<MemberName> members, (VsId Vs, int Weight, double Load)[] order)
    {
        var n = CheckMembers(members);
        SortByLoadThenId(order, out var maxWeight);
        var v = order.Length;
        var lists = new MemberName[v][];
        for (var i = 0; i < v; i++)
            lists[i] = new MemberName[n];
        if (n > 0)
        {
            var active = new int[v];
            var activeLoad = new double[n];
            for (var i = 0; i < v; i++)
            {
                var best = 0;
                for (var m = 1; m < n; m++)
                {
                    if (activeLoad[m] < activeLoad[best])
                        best = m;
                }
                active[i] = best;
                activeLoad[best] += order[i].Load;
            }

            var standby = new int[v];
            if (n > 1)
            {
                var standbyLoad = new double[n];
                var pairLoad = new double[n * n];
                for (var i = 0; i < v; i++)
                {
                    var a = active[i];
                    var best = -1;
                    for (var d = 1; d < n; d++)
                    {
                        // Walking members in cyclic order after the Active makes "nearest after
                        // the Active" the last tie-break for free (strict < keeps the earlier one).
                        var m = (a + d) % n;
                        if (best < 0
                            || standbyLoad[m] < standbyLoad[best]
                            || (standbyLoad[m] == standbyLoad[best] && pairLoad[a * n + m] < pairLoad[a * n + best]))
                        {
                            best = m;
                        }
                    }
                    standby[i] = best;
                    standbyLoad[best] += order[i].Load;
                    pairLoad[a * n + best] += order[i].Load;
                }
                if (Spread(standbyLoad) > maxWeight)
                {
                    for (var i = 0; i < v; i++)
                        standby[i] = (active[i] + 1) % n;
                }
            }

            FillLists(lists, order, active, n > 1 ? standby : null, n, members);
        }
        return ToSortedPriorities(order, lists);
    }

    /// <summary>
    /// Priority lists that put every VS Active on <paramref name="member"/> (<c>all-on</c>), with
    /// the Standbys spread over the other members by weight (greedy longest-processing-time:
    /// heaviest VS first, to the least Standby-loaded member, ties to the earlier configured
    /// member — the bound holds since no Standby is excluded by its Active), then the Backups
    /// spread position by position as in <see cref="Equal"/>.
    /// </summary>
    /// <param name="members">The configured members, in configured order (no duplicates).</param>
    /// <param name="vss">The VSs and their weights, in any order.</param>
    /// <param name="member">The member every VS should be Active on; one of <paramref name="members"/>.</param>
    /// <returns>One list per VS, sorted by VS id.</returns>
    /// <exception cref="ArgumentException"><paramref name="member"/> is not configured, duplicates, or a negative weight.</exception>
    public static ImmutableArray<VsPriority> AllOn(IReadOnlyList<MemberName> members, IReadOnlyList<(VsId Vs, int Weight)> vss, MemberName member)
    {
        var n = CheckMembers(members);
        var home = -1;
        for (var m = 0; m < n; m++)
        {
            if (members[m] == member)
                home = m;
        }
        if (home < 0)
            throw new ArgumentException($"all-on member '{member}' is not a configured member ({string.Join(", ", members)})", nameof(member));

        ArgumentNullException.ThrowIfNull(vss);
        var order = new (VsId Vs, int Weight, double Load)[vss.Count];
        for (var i = 0; i < order.Length; i++)
            order[i] = (vss[i].Vs, vss[i].Weight, vss[i].Weight);
        SortByLoadThenId(order, out _);
        var v = order.Length;
        var lists = new MemberName[v][];
        for (var i = 0; i < v; i++)
            lists[i] = new MemberName[n];
        var active = new int[v];
        Array.Fill(active, home);
        int[]? standby = null;
        if (n > 1)
        {
            standby = new int[v];
            var standbyLoad = new double[n];
            for (var i = 0; i < v; i++)
            {
                var best = -1;
                for (var m = 0; m < n; m++)
                {
                    if (m != home && (best < 0 || standbyLoad[m] < standbyLoad[best]))
                        best = m;
                }
                standby[i] = best;
                standbyLoad[best] += order[i].Load;
            }
        }
        FillLists(lists, order, active, standby, n, members);
        return ToSortedPriorities(order, lists);
    }

    /// <summary>
    /// Weighted loads of a placement on <paramref name="members"/> and their spreads (max − min
    /// over those members). Pass the configured members to judge a distribution, or only the
    /// Up ones to judge the current state (the basis of <c>dist advise</c>).
    /// </summary>
    public static LoadReport Imbalance(Placement placement, IReadOnlyList<MemberName> members)
    {
        ArgumentNullException.ThrowIfNull(placement);
        ArgumentNullException.ThrowIfNull(members);
        var loads = new MemberLoad[members.Count];
        var activeLoad = new long[members.Count];
        var standbyLoad = new long[members.Count];
        var activeCount = new int[members.Count];
        foreach (var p in placement.Vss.AsSpan())
        {
            var a = IndexOf(members, p.Active);
            if (a >= 0)
            {
                activeLoad[a] += p.Weight;
                activeCount[a]++;
            }
            var s = IndexOf(members, p.Standby);
            if (s >= 0)
                standbyLoad[s] += p.Weight;
        }
        for (var m = 0; m < members.Count; m++)
            loads[m] = new MemberLoad(members[m], activeLoad[m], standbyLoad[m], activeCount[m]);
        return new LoadReport(ImmutableCollectionsMarshal.AsImmutableArray(loads), Spread(activeLoad), Spread(standbyLoad));
    }

    /// <summary>
    /// Weighted loads of priority lists as if every member were Up: position 0 counts as
    /// Active, position 1 as Standby.
    /// </summary>
    public static LoadReport Imbalance(IReadOnlyList<VsPriority> lists, IReadOnlyList<MemberName> members)
    {
        ArgumentNullException.ThrowIfNull(lists);
        var vss = new VsPlacement[lists.Count];
        for (var i = 0; i < lists.Count; i++)
        {
            var l = lists[i].Members;
            vss[i] = new VsPlacement(
                lists[i].Vs,
                l.Length > 0 ? l[0] : null,
                l.Length > 1 ? l[1] : null,
                [],
                lists[i].Weight);
        }
        return Imbalance(Placement.From(vss), members);
    }

    private static int IndexOf(IReadOnlyList<MemberName> members, MemberName? member)
    {
        if (member is not { } m)
            return -1;
        for (var i = 0; i < members.Count; i++)
        {
            if (members[i] == m)
                return i;
        }
        return -1;
    }

    private static long Spread(long[] loads)
    {
        if (loads.Length == 0)
            return 0;
        long min = loads[0], max = loads[0];
        foreach (var l in loads)
        {
            min = Math.Min(min, l);
            max = Math.Max(max, l);
        }
        return max - min;
    }

    private static double Spread(double[] loads)
    {
        if (loads.Length == 0)
            return 0;
        double min = loads[0], max = loads[0];
        foreach (var l in loads)
        {
            min = Math.Min(min, l);
            max = Math.Max(max, l);
        }
        return max - min;
    }

    private static int CheckMembers(IReadOnlyList<MemberName> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var n = members.Count;
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (members[i] == members[j])
                    throw new ArgumentException($"member '{members[i]}' is listed twice", nameof(members));
            }
        }
        return n;
    }

    /// <summary>Sorts by load descending then id ascending; checks weights, and ids for duplicates.</summary>
    private static void SortByLoadThenId((VsId Vs, int Weight, double Load)[] order, out double maxLoad)
    {
        maxLoad = 0;
        foreach (var (vs, weight, load) in order)
        {
            if (weight < 0)
                throw new ArgumentException($"virtual system {vs} has negative weight {weight}", "vss");
            maxLoad = Math.Max(maxLoad, load);
        }
        Array.Sort(order, static (a, b) => a.Load != b.Load ? b.Load.CompareTo(a.Load) : a.Vs.CompareTo(b.Vs));
        var seen = new HashSet<VsId>(order.Length);
        foreach (var (vs, _, _) in order)
        {
            if (!seen.Add(vs))
                throw new ArgumentException($"virtual system {vs} is listed twice", "vss");
        }
    }

    /// <summary>
    /// Writes Active, Standby, then fills positions 2+ with the unused member least loaded at
    /// that position, ties by cyclic distance from the Active.
    /// </summary>
    private static void FillLists(MemberName[][] lists, (VsId Vs, int Weight, double Load)[] order, int[] active, int[]? standby, int n, IReadOnlyList<MemberName> members)
    {
        var positionLoad = new double[n * n];
        Span<bool> used = n <= 256 ? stackalloc bool[n] : new bool[n];
        for (var i = 0; i < order.Length; i++)
        {
            used.Clear();
            var list = lists[i];
            var a = active[i];
            list[0] = members[a];
            used[a] = true;
            var start = 1;
            if (standby is not null)
            {
                list[1] = members[standby[i]];
                used[standby[i]] = true;
                start = 2;
            }
            for (var pos = start; pos < n; pos++)
            {
                var best = -1;
                for (var d = 1; d < n; d++)
                {
                    var m = (a + d) % n;
                    if (!used[m] && (best < 0 || positionLoad[pos * n + m] < positionLoad[pos * n + best]))
                        best = m;
                }
                list[pos] = members[best];
                used[best] = true;
                positionLoad[pos * n + best] += order[i].Load;
            }
        }
    }

    private static ImmutableArray<VsPriority> ToSortedPriorities((VsId Vs, int Weight, double Load)[] order, MemberName[][] lists)
    {
        var result = new VsPriority[order.Length];
        for (var i = 0; i < order.Length; i++)
            result[i] = new VsPriority(order[i].Vs, order[i].Weight, ImmutableCollectionsMarshal.AsImmutableArray(lists[i]));
        Array.Sort(result, static (a, b) => a.Vs.CompareTo(b.Vs));
        return ImmutableCollectionsMarshal.AsImmutableArray(result);
    }
}

/// <summary>One member's weighted load in a placement.</summary>
/// <param name="Member">The member.</param>
/// <param name="ActiveLoad">Summed weight of the VSs Active on it.</param>
/// <param name="StandbyLoad">Summed weight of the VSs whose Standby it is.</param>
/// <param name="ActiveCount">Number of VSs Active on it.</param>
public sealed record MemberLoad(MemberName Member, long ActiveLoad, long StandbyLoad, int ActiveCount);

/// <summary>
/// Weighted loads per member and how uneven they are: <see cref="ActiveSpread"/> is the
/// largest Active load minus the smallest, <see cref="StandbySpread"/> the same for Standby.
/// </summary>
public sealed record LoadReport(ImmutableArray<MemberLoad> Members, long ActiveSpread, long StandbySpread);
