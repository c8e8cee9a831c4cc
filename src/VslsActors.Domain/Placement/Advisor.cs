using System.Collections.Immutable;
using System.Runtime.InteropServices;

namespace VslsActors.Domain.Placement;

using VslsActors.Domain.Topology;

/// <summary>
/// <c>vsls ctl dist advise</c>: how unbalanced the Active load of the Up members is now, and the
/// fewest priority-list changes (each moving one VS's Active) that bring it within a tolerance.
/// Pure: computes advice, applies nothing. The load of a VS is any non-negative number —
/// its configured weight (<see cref="WeightLoads"/>, <c>--by weight</c>) or a measured rate
/// (<c>--by load</c>, packets/s or connections) — so both modes share one algorithm.
/// </summary>
/// <remarks>
/// <para><b>Which members count.</b> Only Up members: they are the ones that host by choice.
/// Draining members are being emptied and Down ones host nothing, so they are neither sources
/// nor targets of a move, and their load is shown but not part of the spread. With fewer than
/// two Up members there is nothing to balance and the advice is empty.</para>
/// <para><b>Algorithm</b> (greedy): while the spread (largest minus smallest Up-member load)
/// exceeds the tolerance, take the VSs Active on a most-loaded member whose load w satisfies
/// 0 &lt; w &lt; spread, and move the one whose w is closest to spread / 2 to the least-loaded
/// member (ties: a move back to the VS's original member first, then a VS already moved, then
/// the lower VS id). Such a move keeps both members inside the old [min, max], so the spread
/// never grows, and it strictly lowers the sum of squared loads, so the loop ends. It stops
/// when the spread is within the tolerance or no such VS exists. A VS moved twice counts once;
/// one moved back home counts not at all.</para>
/// <para><b>The change</b> for a moved VS rewrites its effective priority list (as
/// <see cref="PlacementCalculator.ResolvePriorityLists"/> gives it) to: the target member, then
/// the old Active, then the rest in their old order. With every member of the list Up as
/// before, <see cref="PlacementCalculator.Compute"/> then makes the target Active and the old
/// Active Standby — the member with the VS's connection table already warm — and leaves every
/// other VS where it is. So each change moves an Active and, with it, the Standby; the advice
/// never changes a Standby alone.</para>
/// <para><b>Failback.</b> Under <c>primary-up</c> writing the lists moves the VSs. Under
/// <c>active-up</c> a VS stays on its current Active while that member is Up, so the lists
/// alone move nothing: the caller must also hand each changed VS to its
/// <see cref="PriorityChange.NewActive"/> (see <see cref="Advice.Moved"/>).</para>
/// <para><b>Default tolerance</b>: the largest load of one movable VS. That is the bound the
/// <c>equal</c> distribution guarantees (see <see cref="Distribution.Equal"/>), so the advice is
/// never asked to beat it, and — since any VS on the most loaded member then fits the move
/// condition while the spread exceeds the tolerance — the greedy always reaches it.</para>
/// </remarks>
public static class Advisor
{
    /// <summary>Every configured VS's weight as its load: the input of <c>dist advise --by weight</c>.</summary>
    public static IReadOnlyDictionary<VsId, double> WeightLoads(Topology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var loads = new Dictionary<VsId, double>(topology.VirtualSystems.Length);
        foreach (var vs in topology.VirtualSystems)
            loads[vs.Id] = vs.Weight;
        return loads;
    }

    /// <summary>
    /// Advice for the cluster running <paramref name="current"/> (the placement
    /// <see cref="PlacementCalculator.Compute"/> gave for <paramref name="topology"/> and
    /// <paramref name="members"/>).
    /// </summary>
    /// <param name="topology">The running topology.</param>
    /// <param name="members">The members' states; a member not listed is Down.</param>
    /// <param name="current">The placement the cluster runs now.</param>
    /// <param name="loads">Load per VS; null means the weights (<see cref="WeightLoads"/>). A VS
    /// missing from it has load 0 (a VS not measured yet carries nothing measurable); an entry
    /// for a VS the topology does not configure is ignored (a VS removed since the measurement).</param>
    /// <param name="tolerance">The spread to reach, ≥ 0; null means the largest load of a VS
    /// Active on an Up member (see the type's remarks).</param>
    /// <exception cref="ArgumentException">A negative, NaN or infinite load or tolerance.</exception>
    /// <exception cref="Configuration.ConfigException">The topology cannot be placed.</exception>
    public static Advice Advise(
        Topology topology,
        IReadOnlyDictionary<MemberName, MemberState> members,
        Placement current,
        IReadOnlyDictionary<VsId, double>? loads = null,
        double? tolerance = null)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(current);
        loads ??= WeightLoads(topology);
        if (tolerance is { } t && (!double.IsFinite(t) || t < 0))
            throw new ArgumentException($"tolerance {t} is not a non-negative number", nameof(tolerance));

        var lists = PlacementCalculator.ResolvePriorityLists(topology);
        var configured = topology.Members;
        var n = configured.Length;
        var state = new MemberState[n];
        for (var m = 0; m < n; m++)
            state[m] = members.TryGetValue(configured[m], out var s) ? s : MemberState.Down;

        // One entry per configured VS, in id order (lists are sorted by id).
        var v = lists.Length;
        var load = new double[v];
        var original = new int[v];
        var position = new int[v];
        var memberLoad = new double[n];
        double total = 0, largestMovable = 0;
        for (var i = 0; i < v; i++)
        {
            var vs = lists[i].Vs;
            var w = loads.TryGetValue(vs, out var l) ? l : 0;
            if (!double.IsFinite(w) || w < 0)
                throw new ArgumentException($"virtual system {vs} has load {w}; a load is a non-negative number", nameof(loads));
            load[i] = w;
            var a = current.Find(vs)?.Active is { } active ? configured.IndexOf(active) : -1;
            original[i] = position[i] = a;
            if (a >= 0)
            {
                memberLoad[a] += w;
                total += w;
                if (state[a] == MemberState.Up)
                    largestMovable = Math.Max(largestMovable, w);
            }
        }
        var tol = tolerance ?? largestMovable;
        var before = Shares(configured, state, memberLoad, total);
        var spreadBefore = Spread(state, memberLoad);

        var upCount = state.Count(static s => s == MemberState.Up);
        if (upCount >= 2)
        {
            // Each step strictly lowers the sum of squared loads, so the loop ends on its own;
            // the cap only guards against floating-point rounding making a step a no-op.
            var cap = (long)v * n + 16;
            for (long step = 0; step < cap; step++)
            {
                var (hi, lo) = Extremes(state, memberLoad);
                var spread = hi - lo;
                if (spread <= tol)
                    break;
                var target = -1;
                for (var m = 0; m < n; m++)
                {
                    if (state[m] == MemberState.Up && memberLoad[m] == lo)
                    {
                        target = m;
                        break;
                    }
                }
                var best = -1;
                var bestScore = double.MaxValue;
                var bestRank = int.MaxValue;
                for (var i = 0; i < v; i++)
                {
                    var p = position[i];
                    if (p < 0 || state[p] != MemberState.Up || memberLoad[p] != hi)
                        continue;
                    var w = load[i];
                    if (!(w > 0 && w < spread))
                        continue;
                    var score = Math.Abs(w - spread / 2);
                    // Rank: going home undoes a move, an already-moved VS adds none, a new one adds one.
                    var rank = original[i] == target ? 0 : p != original[i] ? 1 : 2;
                    if (score < bestScore || (score == bestScore && rank < bestRank))
                    {
                        best = i;
                        bestScore = score;
                        bestRank = rank;
                    }
                }
                if (best < 0)
                    break;
                memberLoad[position[best]] -= load[best];
                memberLoad[target] += load[best];
                position[best] = target;
            }
        }

        var changes = ImmutableArray.CreateBuilder<PriorityChange>();
        for (var i = 0; i < v; i++)
        {
            if (position[i] == original[i])
                continue;
            var old = lists[i].Members;
            var to = configured[position[i]];
            var from = configured[original[i]];
            var rewritten = new MemberName[old.Length];
            rewritten[0] = to;
            rewritten[1] = from;
            var k = 2;
            foreach (var m in old.AsSpan())
            {
                if (m != to && m != from)
                    rewritten[k++] = m;
            }
            var oldPlacement = current.Find(lists[i].Vs)!;
            changes.Add(new PriorityChange(
                lists[i].Vs,
                load[i],
                old,
                ImmutableCollectionsMarshal.AsImmutableArray(rewritten),
                from,
                to,
                oldPlacement.Standby,
                from));
        }
        var after = Shares(configured, state, memberLoad, total);
        return new Advice(before, spreadBefore, after, Spread(state, memberLoad), tol, changes.ToImmutable());
    }

    private static ImmutableArray<MemberShare> Shares(ImmutableArray<MemberName> configured, MemberState[] state, double[] memberLoad, double total)
    {
        var shares = new MemberShare[configured.Length];
        for (var m = 0; m < shares.Length; m++)
            shares[m] = new MemberShare(configured[m], state[m], memberLoad[m], total > 0 ? memberLoad[m] / total * 100 : 0);
        return ImmutableCollectionsMarshal.AsImmutableArray(shares);
    }

    private static (double Hi, double Lo) Extremes(MemberState[] state, double[] memberLoad)
    {
        double hi = double.MinValue, lo = double.MaxValue;
        for (var m = 0; m < state.Length; m++)
        {
            if (state[m] != MemberState.Up)
                continue;
            hi = Math.Max(hi, memberLoad[m]);
            lo = Math.Min(lo, memberLoad[m]);
        }
        return (hi, lo);
    }

    private static double Spread(MemberState[] state, double[] memberLoad)
    {
        if (!state.Contains(MemberState.Up))
            return 0;
        var (hi, lo) = Extremes(state, memberLoad);
        return hi - lo;
    }
}

/// <summary>One member's Active load in <see cref="Advice"/>.</summary>
/// <param name="Member">The member.</param>
/// <param name="State">Its state; only Up members count in the spread.</param>
/// <param name="Load">Summed load of the VSs Active on it.</param>
/// <param name="Percent">That load as a percentage of the load of every VS that has an Active member.</param>
public sealed record MemberShare(MemberName Member, MemberState State, double Load, double Percent);

/// <summary>
/// One VS's proposed priority-list change: from <see cref="OldList"/> (its effective list now)
/// to <see cref="NewList"/>, which makes <see cref="NewActive"/> Active and the old Active Standby.
/// </summary>
/// <param name="Vs">The virtual system.</param>
/// <param name="Load">Its load, as given to the advisor.</param>
/// <param name="OldList">Its effective priority list now.</param>
/// <param name="NewList">The list to write.</param>
/// <param name="OldActive">Where it is Active now.</param>
/// <param name="NewActive">Where it will be Active.</param>
/// <param name="OldStandby">Its Standby now (null when it has none).</param>
/// <param name="NewStandby">Its Standby after: the old Active.</param>
public sealed record PriorityChange(
    VsId Vs,
    double Load,
    ImmutableArray<MemberName> OldList,
    ImmutableArray<MemberName> NewList,
    MemberName OldActive,
    MemberName NewActive,
    MemberName? OldStandby,
    MemberName? NewStandby)
{
    /// <summary>Whether the Active member changes (always, for the advisor's changes).</summary>
    public bool ActiveMoves => OldActive != NewActive;

    /// <summary>Whether the Standby member changes.</summary>
    public bool StandbyMoves => OldStandby != NewStandby;

    /// <summary>Value equality, comparing the lists element by element.</summary>
    public bool Equals(PriorityChange? other) =>
        other is not null
        && Vs == other.Vs
        && Load.Equals(other.Load)
        && OldActive == other.OldActive
        && NewActive == other.NewActive
        && OldStandby == other.OldStandby
        && NewStandby == other.NewStandby
        && OldList.AsSpan().SequenceEqual(other.OldList.AsSpan())
        && NewList.AsSpan().SequenceEqual(other.NewList.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Vs, OldActive, NewActive, NewList.Length);

    /// <inheritdoc />
    public override string ToString() =>
        $"VS {Vs} (load {Load}): {string.Join(",", OldList.AsSpan().ToArray())} -> {string.Join(",", NewList.AsSpan().ToArray())} (active {OldActive} -> {NewActive}, standby {OldStandby?.ToString() ?? "-"} -> {NewStandby?.ToString() ?? "-"})";
}

/// <summary>
/// The result of <see cref="Advisor.Advise"/>: Active loads per member now and after the
/// proposed changes, the spreads (largest minus smallest over the Up members), the tolerance
/// aimed at, and the changes. An empty <see cref="Changes"/> means balanced already (or
/// nothing can be improved).
/// </summary>
/// <param name="Before">Every configured member's Active load now, in configured order.</param>
/// <param name="SpreadBefore">Spread over the Up members now.</param>
/// <param name="After">Every configured member's Active load after the changes.</param>
/// <param name="SpreadAfter">Spread over the Up members after the changes.</param>
/// <param name="Tolerance">The spread the advisor aimed at.</param>
/// <param name="Changes">The proposed changes, by VS id; each moves one VS's Active (and Standby).</param>
public sealed record Advice(
    ImmutableArray<MemberShare> Before,
    double SpreadBefore,
    ImmutableArray<MemberShare> After,
    double SpreadAfter,
    double Tolerance,
    ImmutableArray<PriorityChange> Changes)
{
    /// <summary>How many VSs would change Active member (= <see cref="Changes"/>' count).</summary>
    public int ActiveMoves => Changes.Count(static c => c.ActiveMoves);

    /// <summary>How many of those also change Standby (the advice makes no Standby-only change).</summary>
    public int StandbyMoves => Changes.Count(static c => c.StandbyMoves);

    /// <summary>Whether the spread now is within the tolerance already.</summary>
    public bool Balanced => SpreadBefore <= Tolerance;

    /// <summary>
    /// The changes as the VS lines of a VSLS configuration file (what <c>dist import</c> takes),
    /// with each VS's configured weight from <paramref name="topology"/>.
    /// </summary>
    public VslsConfigDocument ToDocument(Topology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        return new([.. Changes.Select(c => new VsPriority(c.Vs, topology.Find(c.Vs)?.Weight ?? 0, c.NewList))]);
    }

    /// <summary>
    /// <paramref name="topology"/> with the changes written, as <c>dist import</c> of
    /// <see cref="ToDocument"/> does it (<see cref="VslsConfigFile.Apply"/>): the distribution
    /// becomes <c>manual</c> and every other VS keeps the list it runs with, so only the
    /// changed VSs move.
    /// </summary>
    public Topology ApplyTo(Topology topology) => VslsConfigFile.Apply(topology, ToDocument(topology), "dist advise");

    /// <summary>
    /// <paramref name="current"/> with each changed VS Active on its new member and Standby on the
    /// old Active: the <c>current</c> to pass to <see cref="PlacementCalculator.Compute"/> once
    /// the moves are carried out (it matters under <c>active-up</c> failback only).
    /// </summary>
    public Placement Moved(Placement current)
    {
        ArgumentNullException.ThrowIfNull(current);
        var byVs = Changes.ToDictionary(static c => c.Vs);
        return Placement.From(current.Vss.Select(p => byVs.TryGetValue(p.Vs, out var c)
            ? p with { Active = c.NewActive, Standby = c.NewStandby }
            : p));
    }
}
