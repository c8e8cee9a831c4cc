using VslsActors.Domain.Policy;

namespace VslsActors.Domain.VirtualSystems;

/// <summary>
/// When a connection becomes <em>synced</em> — journaled, so that it survives a failover — by the
/// sync mode of the rule that accepted it:
/// <list type="bullet">
/// <item><see cref="SyncMode.Immediate"/>: at once (its Opened delta is written with the batch that opened it).</item>
/// <item><see cref="SyncMode.Delayed"/>: only once it has lived the VS's sync delay (from its first
/// packet), and only if it is still tracked then; checked by the VS on its sweep tick and whenever the
/// connection reports a lifecycle change. Short flows that end earlier are never written at all.</item>
/// <item><see cref="SyncMode.None"/>: never; such a connection is lost on failover.</item>
/// </list>
/// Established, Closed and Expired deltas are written only for synced connections.
/// </summary>
public static class SyncRules
{
    /// <summary>"Never": the due time of a connection that is not synchronized.</summary>
    public const long Never = long.MaxValue;

    /// <summary>
    /// The UTC-ticks instant from which a connection first seen at <paramref name="firstSeen"/> is
    /// synced: <paramref name="firstSeen"/> itself for immediate sync, + <paramref name="syncDelay"/>
    /// for delayed sync, <see cref="Never"/> for none.
    /// </summary>
    public static long SyncDueAt(SyncMode mode, long firstSeen, TimeSpan syncDelay) => mode switch
    {
        SyncMode.Immediate => firstSeen,
        SyncMode.Delayed => syncDelay.Ticks >= Never - firstSeen ? Never : firstSeen + syncDelay.Ticks,
        _ => Never,
    };

    /// <summary>Whether a still-tracked connection should be synced at <paramref name="now"/> (UTC ticks).</summary>
    public static bool IsDue(SyncMode mode, long firstSeen, TimeSpan syncDelay, long now)
    {
        var due = SyncDueAt(mode, firstSeen, syncDelay);
        return due != Never && now >= due;
    }
}
