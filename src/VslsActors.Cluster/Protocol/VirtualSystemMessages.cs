using VslsActors.Domain;
using VslsActors.Domain.Flows;

namespace VslsActors.Cluster.Protocol;

/// <summary>Commands a virtual system accepts (through the <c>virtual-system</c> shard region).</summary>
public static class VirtualSystemCommands
{
    /// <summary>
    /// A batch of packets for one VS. The VS decides every packet and replies
    /// <see cref="VirtualSystemReplies.PacketVerdicts"/> once the deltas the batch caused are
    /// journaled (a reply means "durable", never "probably durable").
    /// </summary>
    public sealed record ProcessPackets(VsId VsId, TimedPacket[] Packets) : IVirtualSystemCommand;

    /// <summary>
    /// Makes sure the VS runs (sent periodically for every configured VS, so that a VS starts on
    /// its Active member without waiting for traffic, and again right after a failover).
    /// Replied with <see cref="VirtualSystemReplies.Started"/>.
    /// </summary>
    public sealed record EnsureStarted(VsId VsId) : IVirtualSystemCommand;
}

/// <summary>Queries a virtual system answers.</summary>
public static class VirtualSystemQueries
{
    /// <summary>Counters and size of the VS; replied with <see cref="VirtualSystemReplies.Status"/>.</summary>
    public sealed record GetStatus(VsId VsId) : IVirtualSystemQuery;

    /// <summary>Up to <see cref="Limit"/> connections of the table; replied with <see cref="VirtualSystemReplies.Connections"/>.</summary>
    public sealed record ListConnections(VsId VsId, int Limit) : IVirtualSystemQuery;
}

/// <summary>Replies of a virtual system. Never typed as commands.</summary>
public static class VirtualSystemReplies
{
    /// <summary>The verdicts for one <see cref="VirtualSystemCommands.ProcessPackets"/> batch.</summary>
    public sealed record PacketVerdicts(VsId VsId, string Member, VerdictCounts Counts) : IVslsMessage;

    /// <summary>The VS runs on <see cref="Member"/> (its incarnation started at <see cref="StartedAtTicks"/>).</summary>
    public sealed record Started(VsId VsId, string Member, long StartedAtTicks) : IVslsMessage;

    /// <summary>A VS's size and totals since its incarnation started on <see cref="Member"/>.</summary>
    /// <remarks>The last three fields were added for /metrics and are optional, so that a VS which does not fill
    /// them still answers (null = not reported; the metrics leave such series out rather than show a made-up zero):
    /// <c>LastCheckpointAtTicks</c>, when the last checkpoint the VS saved or recovered from was taken (UTC ticks);
    /// <c>LastCheckpointConnections</c>, how many connections it holds; <c>DeltasNotDurable</c>, deltas applied
    /// but not yet confirmed by the journal (journal lag). The load fields (for <c>dist equal --by load</c>) are the
    /// VS's own <see cref="Domain.Placement.LoadWindow"/>: <c>LoadWindowTicks</c>, the time the window spans;
    /// <c>LoadWindowPackets</c>, packets counted in it; <c>LoadMeanConnections</c>, connections averaged over it
    /// (all null until the VS has sampled twice).</remarks>
    public sealed record Status(
        VsId VsId,
        string Member,
        int Connections,
        int LiveConnectionActors,
        VerdictCounts Totals,
        long DeltasJournaled,
        long CheckpointsWritten,
        int RecoveredConnections,
        long JournalFailures,
        long? LastCheckpointAtTicks = null,
        int? LastCheckpointConnections = null,
        long? DeltasNotDurable = null,
        long? LoadWindowTicks = null,
        long? LoadWindowPackets = null,
        long? LoadMeanConnections = null) : IVslsMessage;

    /// <summary>Part of a VS's connection table.</summary>
    public sealed record Connections(VsId VsId, ConnectionRecord[] Items, int Total) : IVslsMessage;
}

/// <summary>
/// Per-kind packet verdict counts. <see cref="UnknownVs"/> is counted by whoever classifies
/// packets to VSs (ingress), never by a VS.
/// </summary>
/// <remarks>
/// <see cref="OverLimit"/> is every packet refused by a VS's limits, whatever the kind (so totals and
/// older readers stay right); <see cref="OverPacketRate"/> and <see cref="OverNewConnectionRate"/> are
/// the parts of it refused by the packets/s and new-connections/s limits (optional, added later:
/// 0 from a sender that does not split), <see cref="Overload"/> the part shed because the member was
/// overloaded (docs/degradation.md), and <see cref="OverConnectionLimit"/> the rest (a full table).
/// </remarks>
public sealed record VerdictCounts(
    long Accepted,
    long PolicyDropped,
    long Rejected,
    long OutOfState,
    long OverLimit,
    long UnknownVs = 0,
    long OverPacketRate = 0,
    long OverNewConnectionRate = 0,
    long Overload = 0)
{
    /// <summary>The part of <see cref="OverLimit"/> refused because the VS's connection table was full.</summary>
    public long OverConnectionLimit => OverLimit - OverPacketRate - OverNewConnectionRate - Overload;

    /// <summary>All zero.</summary>
    public static VerdictCounts Zero { get; } = new(0, 0, 0, 0, 0);

    /// <summary>Every packet counted.</summary>
    public long Total => Accepted + PolicyDropped + Rejected + OutOfState + OverLimit + UnknownVs;

    /// <summary>Sum of two counts.</summary>
    public VerdictCounts Add(VerdictCounts other) => new(
        Accepted + other.Accepted,
        PolicyDropped + other.PolicyDropped,
        Rejected + other.Rejected,
        OutOfState + other.OutOfState,
        OverLimit + other.OverLimit,
        UnknownVs + other.UnknownVs,
        OverPacketRate + other.OverPacketRate,
        OverNewConnectionRate + other.OverNewConnectionRate,
        Overload + other.Overload);
}
