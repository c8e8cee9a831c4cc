using System.Collections.Immutable;
using System.Globalization;

namespace VslsActors.Domain.Overload;

/// <summary>
/// One VS Active on the member, in one <see cref="OverloadSample"/>: its weight and its new-connection
/// attempts in the tick (first packets the policy accepted: opened, or refused by a limit or by shedding).
/// </summary>
public readonly record struct VsTickLoad(VsId Vs, int Weight, long NewConnections);

/// <summary>
/// One periodic measure of a member (docs/degradation.md, <i>What is measured</i>).
/// </summary>
/// <param name="At">When it was taken, on a monotonic clock (only differences are used).</param>
/// <param name="Latency">The longest time a packet batch spent in a VS of the member during the tick (zero when none finished).</param>
/// <param name="Queued">Work waiting in the member's VSs at the end of the tick: messages in their mailboxes plus batches they have open.</param>
/// <param name="VirtualSystems">Every VS Active on the member, with its new-connection attempts in the tick.</param>
public sealed record OverloadSample(TimeSpan At, TimeSpan Latency, long Queued, IReadOnlyList<VsTickLoad> VirtualSystems);

/// <summary>A level change decided by <see cref="OverloadMonitor.Observe"/>, with the measure that caused it.</summary>
public sealed record OverloadChange(OverloadLevel From, OverloadLevel To, string Reason);

/// <summary>
/// The overload state machine of a member, pure: fed one <see cref="OverloadSample"/> per tick, it
/// decides the level (<see cref="OverloadLevel"/>) and which VSs are over their share.
/// </summary>
/// <remarks>
/// <para>A sample is <b>overloaded</b> when its latency is above <see cref="OverloadThresholds.EnterLatency"/>
/// or its queued work above <see cref="OverloadThresholds.EnterQueue"/>; <b>calm</b> when both are at or
/// below their exit thresholds; otherwise in between (neither: both hold clocks restart, the level stays).
/// The exit thresholds are lower than the enter ones, so a member hovering near a threshold does not flap.</para>
/// <para><b>Up</b>, one level at a time: overloaded samples without a break for <see cref="OverloadThresholds.EnterHold"/>
/// move Normal to level 1, then for <see cref="OverloadThresholds.EscalateHold"/> more move level 1 to level 2
/// (the clock restarts at each change, so the overload must persist <em>at the current level</em>: shedding the
/// over-share VSs gets its chance to relieve the member before everybody's new connections are refused).
/// <b>Down</b>, one level at a time: calm samples without a break for <see cref="OverloadThresholds.ExitHold"/>
/// (level 2 → 1 → Normal), so recovery is gradual and needs no operator.</para>
/// </remarks>
public sealed class OverloadMonitor
{
    private readonly OverloadThresholds _thresholds;
    private TimeSpan? _overloadedSince;
    private TimeSpan? _calmSince;

    /// <summary>A monitor at <see cref="OverloadLevel.Normal"/>.</summary>
    public OverloadMonitor(OverloadThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        if (thresholds.Problem() is { } problem)
            throw new ArgumentException("vsls.overload: " + problem, nameof(thresholds));
        _thresholds = thresholds;
    }

    /// <summary>The level now.</summary>
    public OverloadLevel Level { get; private set; }

    /// <summary>Why the level is what it is: the reason of the last change ("" before the first one).</summary>
    public string Reason { get; private set; } = "";

    /// <summary>The VSs over their share in the last sample (sorted; see <see cref="OverShareOf"/>).</summary>
    public ImmutableArray<VsId> OverShare { get; private set; } = [];

    /// <summary>Takes one sample; returns the level change it caused, or null.</summary>
    public OverloadChange? Observe(OverloadSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        OverShare = OverShareOf(sample.VirtualSystems);
        var t = _thresholds;
        var overloaded = sample.Latency > t.EnterLatency || sample.Queued > t.EnterQueue;
        var calm = sample.Latency <= t.ExitLatency && sample.Queued <= t.ExitQueue;
        if (overloaded)
        {
            _calmSince = null;
            _overloadedSince ??= sample.At;
            if (Level == OverloadLevel.ShedAllNew)
                return null;
            var hold = Level == OverloadLevel.Normal ? t.EnterHold : t.EscalateHold;
            if (sample.At - _overloadedSince.Value < hold)
                return null;
            _overloadedSince = sample.At;
            return Change(Level + 1, OverloadedBy(sample));
        }
        _overloadedSince = null;
        if (!calm)
        {
            _calmSince = null;
            return null;
        }
        _calmSince ??= sample.At;
        if (Level == OverloadLevel.Normal || sample.At - _calmSince.Value < t.ExitHold)
            return null;
        _calmSince = sample.At;
        return Change(Level - 1, string.Create(CultureInfo.InvariantCulture,
            $"latency {OverloadThresholds.Ms(sample.Latency)} ≤ {OverloadThresholds.Ms(t.ExitLatency)} and queued {sample.Queued} ≤ {t.ExitQueue} for {OverloadThresholds.Ms(t.ExitHold)}"));
    }

    private OverloadChange Change(OverloadLevel to, string reason)
    {
        var change = new OverloadChange(Level, to, reason);
        Level = to;
        Reason = reason;
        return change;
    }

    private string OverloadedBy(OverloadSample sample)
    {
        var t = _thresholds;
        var parts = new List<string>(2);
        if (sample.Latency > t.EnterLatency)
            parts.Add($"latency {OverloadThresholds.Ms(sample.Latency)} > {OverloadThresholds.Ms(t.EnterLatency)}");
        if (sample.Queued > t.EnterQueue)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"queued {sample.Queued} > {t.EnterQueue}"));
        return string.Join(", ", parts);
    }

    /// <summary>
    /// The VSs whose share of the new-connection attempts in <paramref name="loads"/> exceeds their share of
    /// the weights (<c>new_i / Σnew &gt; weight_i / Σweight</c>, compared exactly in integers, so a tie is not
    /// over), sorted by id. New connections, not packets: they are what shedding can refuse, so the VS
    /// that brings the most of them relative to its weight is the one whose shedding relieves the member
    /// (measured: by packets, a flood of costly new connections looked smaller than the established traffic
    /// of the others, because its batches were the slow ones). Nobody is over share when nobody tried to open
    /// a connection; a VS alone on its member never is (its share and its weight share are both 1).
    /// </summary>
    public static ImmutableArray<VsId> OverShareOf(IReadOnlyList<VsTickLoad> loads)
    {
        ArgumentNullException.ThrowIfNull(loads);
        long attempts = 0, weights = 0;
        foreach (var l in loads)
        {
            attempts += Math.Max(0, l.NewConnections);
            weights += Math.Max(0, l.Weight);
        }
        if (attempts == 0 || weights == 0)
            return [];
        var over = ImmutableArray.CreateBuilder<VsId>();
        foreach (var l in loads)
        {
            if ((Int128)Math.Max(0, l.NewConnections) * weights > (Int128)Math.Max(0, l.Weight) * attempts)
                over.Add(l.Vs);
        }
        over.Sort();
        return over.ToImmutable();
    }
}
