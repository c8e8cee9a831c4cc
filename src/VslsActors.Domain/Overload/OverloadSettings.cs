using System.Globalization;

namespace VslsActors.Domain.Overload;

/// <summary>How degraded a member is, in the order it sheds (docs/degradation.md).</summary>
public enum OverloadLevel
{
    /// <summary>Not degraded: every VS opens connections as its limits allow.</summary>
    Normal = 0,
    /// <summary>Refuses new connections of the VSs whose measured share of the member's load exceeds their weight share.</summary>
    ShedOverShare = 1,
    /// <summary>Refuses new connections of every VS on the member.</summary>
    ShedAllNew = 2,
}

/// <summary>
/// The thresholds and hold times of <see cref="OverloadMonitor"/> (HOCON <c>vsls.overload</c>,
/// hocon/overload.conf, where every value's reason is written down).
/// </summary>
/// <param name="EnterLatency">A sample is overloaded when its batch latency (max over the tick) is above this…</param>
/// <param name="ExitLatency">…and calm only when it is at or below this (lower: hysteresis).</param>
/// <param name="EnterQueue">A sample is overloaded when the work queued in the member's VSs is above this…</param>
/// <param name="ExitQueue">…and calm only when it is at or below this.</param>
/// <param name="EnterHold">Overloaded samples for this long move Normal to <see cref="OverloadLevel.ShedOverShare"/>.</param>
/// <param name="EscalateHold">Overloaded samples for this long more, at level 1, move it to <see cref="OverloadLevel.ShedAllNew"/>.</param>
/// <param name="ExitHold">Calm samples for this long move one level down.</param>
public sealed record OverloadThresholds(
    TimeSpan EnterLatency,
    TimeSpan ExitLatency,
    long EnterQueue,
    long ExitQueue,
    TimeSpan EnterHold,
    TimeSpan EscalateHold,
    TimeSpan ExitHold)
{
    /// <summary>The values hocon/overload.conf ships with.</summary>
    public static OverloadThresholds Default { get; } = new(
        EnterLatency: TimeSpan.FromMilliseconds(200),
        ExitLatency: TimeSpan.FromMilliseconds(50),
        EnterQueue: 2000,
        ExitQueue: 500,
        EnterHold: TimeSpan.FromSeconds(2),
        EscalateHold: TimeSpan.FromSeconds(5),
        ExitHold: TimeSpan.FromSeconds(5));

    /// <summary>
    /// The first thing wrong with these thresholds, as one line naming the key, or null when they are usable:
    /// no negative value, and each exit threshold at or below its enter threshold (else a sample could be
    /// overloaded and calm at once).
    /// </summary>
    public string? Problem()
    {
        if (EnterLatency < TimeSpan.Zero) return $"enter-latency: must be ≥ 0 (got {Ms(EnterLatency)})";
        if (ExitLatency < TimeSpan.Zero) return $"exit-latency: must be ≥ 0 (got {Ms(ExitLatency)})";
        if (ExitLatency > EnterLatency) return $"exit-latency: must be ≤ enter-latency ({Ms(ExitLatency)} > {Ms(EnterLatency)})";
        if (EnterQueue < 0) return $"enter-queue: must be ≥ 0 (got {EnterQueue})";
        if (ExitQueue < 0) return $"exit-queue: must be ≥ 0 (got {ExitQueue})";
        if (ExitQueue > EnterQueue) return $"exit-queue: must be ≤ enter-queue ({ExitQueue} > {EnterQueue})";
        if (EnterHold < TimeSpan.Zero) return $"enter-hold: must be ≥ 0 (got {Ms(EnterHold)})";
        if (EscalateHold < TimeSpan.Zero) return $"escalate-hold: must be ≥ 0 (got {Ms(EscalateHold)})";
        if (ExitHold < TimeSpan.Zero) return $"exit-hold: must be ≥ 0 (got {Ms(ExitHold)})";
        return null;
    }

    /// <summary>A duration as the logs and reasons write it: whole milliseconds, or fractional below 10 ms.</summary>
    public static string Ms(TimeSpan value) =>
        value.TotalMilliseconds >= 10 || value == TimeSpan.Zero
            ? ((long)Math.Round(value.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + " ms"
            : value.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms";
}
