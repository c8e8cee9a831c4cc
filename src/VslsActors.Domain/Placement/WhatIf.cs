using System.Collections.Immutable;
using VslsActors.Domain.Configuration;

namespace VslsActors.Domain.Placement;

using VslsActors.Domain.Topology;

/// <summary>
/// <c>vsls ctl plan fail &lt;member&gt;[,&lt;member&gt;...]</c>: where every VS would run and how
/// much weighted Active load each member would carry if those members failed now — capacity
/// planning, computed with the same <see cref="PlacementCalculator.Compute"/> the cluster uses,
/// touching nothing.
/// </summary>
/// <remarks>
/// <para><b>Capacity warning.</b> A member's <i>even share</i> is the total weight of the VSs
/// divided by the number of configured members: what it carries when every member is Up
/// under the <c>equal</c> distribution, i.e. what a member is sized for. A surviving member
/// gets a warning when its Active load after the failure exceeds
/// <c>overloadPercent</c> % of that share (default <see cref="DefaultOverloadPercent"/> %: the
/// load of a member of a three-member cluster that absorbs a third of a failed peer's share is
/// 150 %; more than that on one member means the failover is lopsided or the cluster is
/// sized too tightly). VSs left with no member are reported separately as down.</para>
/// <para><b>Failback.</b> The current placement is passed to <see cref="PlacementCalculator.Compute"/>
/// so that under <c>active-up</c> the VSs not on a failed member stay where they are.</para>
/// </remarks>
public static class WhatIf
{
    /// <summary>Default warning threshold: 150 % of a member's even share.</summary>
    public const double DefaultOverloadPercent = 150;

    /// <summary>Name used as the origin of <see cref="ConfigException"/>s.</summary>
    public const string Source = "plan fail";

    /// <summary>
    /// The outlook if <paramref name="failed"/> went Down now.
    /// </summary>
    /// <param name="topology">The running topology.</param>
    /// <param name="members">The members' states now; a member not listed is Down.</param>
    /// <param name="current">The placement the cluster runs now.</param>
    /// <param name="failed">The members to fail: configured, each once, not all of them.</param>
    /// <param name="overloadPercent">Warning threshold in % of the even share (&gt; 0).</param>
    /// <exception cref="ConfigException">No member given, an unknown member, a member listed
    /// twice, or every configured member; the message names the member, e.g.
    /// <c>plan fail: member: unknown member 'member-9' (members: member-1, member-2)</c>.</exception>
    public static FailureOutlook Fail(
        Topology topology,
        IReadOnlyDictionary<MemberName, MemberState> members,
        Placement current,
        IReadOnlyList<MemberName> failed,
        double overloadPercent = DefaultOverloadPercent)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(failed);
        if (!double.IsFinite(overloadPercent) || overloadPercent <= 0)
            throw new ArgumentException($"overload threshold {overloadPercent} % is not a positive number", nameof(overloadPercent));

        var configured = topology.Members;
        if (failed.Count == 0)
            throw new ConfigException(Source, null, null, "member", "no member to fail (give one or more, separated by commas)");
        for (var i = 0; i < failed.Count; i++)
        {
            if (!configured.Contains(failed[i]))
                throw new ConfigException(Source, null, null, "member", $"unknown member '{failed[i]}' (members: {string.Join(", ", configured)})");
            for (var j = 0; j < i; j++)
            {
                if (failed[j] == failed[i])
                    throw new ConfigException(Source, null, null, "member", $"member '{failed[i]}' is listed twice");
            }
        }
        if (failed.Count == configured.Length)
        {
            throw new ConfigException(Source, null, null, "member",
                $"failing every member ({string.Join(", ", configured)}) leaves nowhere to run any virtual system; leave at least one out");
        }

        var statesAfter = new Dictionary<MemberName, MemberState>(configured.Length);
        foreach (var m in configured)
            statesAfter[m] = members.TryGetValue(m, out var s) ? s : MemberState.Down;
        foreach (var m in failed)
            statesAfter[m] = MemberState.Down;
        var after = PlacementCalculator.Compute(topology, statesAfter, current);

        var changes = ImmutableArray.CreateBuilder<ActiveChange>();
        var down = ImmutableArray.CreateBuilder<VsId>();
        foreach (var p in after.Vss.AsSpan())
        {
            var was = current.Find(p.Vs)?.Active;
            if (was != p.Active)
                changes.Add(new ActiveChange(p.Vs, p.Weight, was, p.Active));
            if (p.Active is null)
                down.Add(p.Vs);
        }

        var loadBefore = Distribution.Imbalance(current, configured);
        var loadAfter = Distribution.Imbalance(after, configured);
        long total = 0;
        foreach (var vs in topology.VirtualSystems)
            total += vs.Weight;
        var evenShare = (double)total / configured.Length;
        var outlook = new MemberOutlook[configured.Length];
        var warnings = ImmutableArray.CreateBuilder<MemberOutlook>();
        for (var m = 0; m < configured.Length; m++)
        {
            var name = configured[m];
            var stateBefore = members.TryGetValue(name, out var s) ? s : MemberState.Down;
            var percent = evenShare > 0 ? loadAfter.Members[m].ActiveLoad / evenShare * 100 : 0;
            outlook[m] = new MemberOutlook(
                name, stateBefore, statesAfter[name],
                loadBefore.Members[m].ActiveLoad, loadAfter.Members[m].ActiveLoad,
                loadAfter.Members[m].ActiveCount, percent);
            if (percent > overloadPercent)
                warnings.Add(outlook[m]);
        }
        return new FailureOutlook(
            [.. failed], current, after, changes.ToImmutable(), down.ToImmutable(),
            loadBefore, loadAfter, [.. outlook], evenShare, overloadPercent, warnings.ToImmutable());
    }
}

/// <summary>A VS whose Active member would change; <see cref="To"/> null means it would be down.</summary>
/// <param name="Vs">The virtual system.</param>
/// <param name="Weight">Its weight.</param>
/// <param name="From">Its Active now (null when it is down already).</param>
/// <param name="To">Its Active after (null: no member left to run it).</param>
public sealed record ActiveChange(VsId Vs, int Weight, MemberName? From, MemberName? To);

/// <summary>One member before and after the failure in a <see cref="FailureOutlook"/>.</summary>
/// <param name="Member">The member.</param>
/// <param name="StateBefore">Its state now.</param>
/// <param name="StateAfter">Its state in the what-if (Down for a failed member).</param>
/// <param name="ActiveLoadBefore">Weight of the VSs Active on it now.</param>
/// <param name="ActiveLoadAfter">Weight of the VSs Active on it after.</param>
/// <param name="ActiveCountAfter">Number of VSs Active on it after.</param>
/// <param name="PercentOfEvenShareAfter">Its load after as a percentage of the even share.</param>
public sealed record MemberOutlook(
    MemberName Member,
    MemberState StateBefore,
    MemberState StateAfter,
    long ActiveLoadBefore,
    long ActiveLoadAfter,
    int ActiveCountAfter,
    double PercentOfEvenShareAfter);

/// <summary>
/// The result of <see cref="WhatIf.Fail"/>: the placement now and after, the VSs that change
/// Active (and those left down), the loads before and after (also as
/// <see cref="LoadReport"/>s over every configured member), and the members over the threshold.
/// </summary>
/// <param name="Failed">The members failed in the what-if.</param>
/// <param name="Before">The placement now, as given.</param>
/// <param name="After">The placement after the failure.</param>
/// <param name="Changes">The VSs whose Active member changes, by VS id.</param>
/// <param name="DownVss">The VSs with no member left to run them.</param>
/// <param name="LoadBefore">Loads now over every configured member.</param>
/// <param name="LoadAfter">Loads after over every configured member.</param>
/// <param name="Members">Every configured member, in configured order.</param>
/// <param name="EvenShare">Total weight / configured member count.</param>
/// <param name="OverloadPercent">The warning threshold used, in % of the even share.</param>
/// <param name="Warnings">The members whose load after exceeds the threshold.</param>
public sealed record FailureOutlook(
    ImmutableArray<MemberName> Failed,
    Placement Before,
    Placement After,
    ImmutableArray<ActiveChange> Changes,
    ImmutableArray<VsId> DownVss,
    LoadReport LoadBefore,
    LoadReport LoadAfter,
    ImmutableArray<MemberOutlook> Members,
    double EvenShare,
    double OverloadPercent,
    ImmutableArray<MemberOutlook> Warnings);
