using VslsActors.Domain;

namespace VslsActors.Cluster.Protocol;

/// <summary>
/// A member's overload state (docs/degradation.md), published by its overload monitor on the
/// DistributedPubSub topic <c>vsls-overload</c> at every level change and every few ticks, so that the
/// management API of any member can show every member's state (<c>ha stat</c>, dashboard).
/// </summary>
/// <param name="Member">The member it describes.</param>
/// <param name="Level">0 normal, 1 shedding new connections of over-share VSs, 2 shedding every VS's new connections.</param>
/// <param name="Reason">The measure that caused the last level change, with its value and threshold ("" before any).</param>
/// <param name="SinceTicks">When the level was entered (UTC ticks; 0 = since the monitor started).</param>
/// <param name="LatencyMicros">The last tick's batch latency (max), in microseconds.</param>
/// <param name="Queued">The last tick's queued work in the member's VSs.</param>
/// <param name="OverShare">The VSs over their share in the last tick.</param>
/// <param name="AtTicks">When this report was taken (UTC ticks): a reader treats an old one as unknown.</param>
public sealed record MemberOverloadReport(
    string Member,
    int Level,
    string Reason,
    long SinceTicks,
    long LatencyMicros,
    long Queued,
    VsId[] OverShare,
    long AtTicks) : IVslsMessage
{
    /// <summary>
    /// How the member's state reads in <c>ha stat</c>: <c>normal</c>, or e.g.
    /// <c>degraded: shedding new connections of over-share VSs (latency 312 ms &gt; 200 ms)</c>.
    /// </summary>
    public string Text => Level switch
    {
        0 => "normal",
        1 => $"degraded: shedding new connections of over-share VSs ({Reason})",
        _ => $"degraded: shedding new connections of every VS ({Reason})",
    };
}
