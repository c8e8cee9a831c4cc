using Akka.Actor;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;

namespace VslsActors.Cluster.VirtualSystems;

/// <summary>
/// Messages between a VS and its connection actors. They never leave the VS's member (parent and
/// children share a process), so they are not <see cref="Protocol.IVslsMessage"/>s and are never serialized.
/// </summary>
internal static class ConnectionMessages
{
    /// <summary>
    /// One batch on its way through a VS and the connection actors it touched. The VS counts the
    /// packets it decides itself (openers, drops) in the plain fields; every connection actor adds its
    /// verdicts with <see cref="Interlocked"/> and releases its hold, and the one that releases the last
    /// hold sends the tally itself to the VS: one message per batch back to the VS instead of one per
    /// touched connection (measured: the per-connection replies were a third of the messages on the
    /// established path). The VS holds one hold of its own while it hands the batch out, so the count
    /// cannot reach zero before every child has its packets.
    /// </summary>
    /// <remarks>
    /// A child sends its <see cref="ConnectionChanges"/> before it releases, so a VS always handles a
    /// batch's lifecycle changes (and journals their deltas) before the tally that completes the batch:
    /// the mailbox is one FIFO queue and the child's send happens before its release, which happens
    /// before the last release and its send.
    /// </remarks>
    internal sealed class BatchTally(IActorRef replyTo) : INoSerializationVerificationNeeded
    {
        /// <summary>Who gets the verdicts.</summary>
        public readonly IActorRef ReplyTo = replyTo;

        /// <summary>Verdicts the VS decided itself (only the VS touches these). <see cref="OverLimit"/> is every kind; the rate parts are also counted on their own.</summary>
        public long Accepted, PolicyDropped, Rejected, OutOfState, OverLimit, OverPacketRate, OverNewConnectionRate, Overload;

        /// <summary>When the VS took the batch (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>): its latency for the overload monitor.</summary>
        public readonly long StartedAt = System.Diagnostics.Stopwatch.GetTimestamp();

        /// <summary>Verdicts of the connection actors (added with <see cref="Interlocked.Add(ref int, int)"/>).</summary>
        public int ChildAccepted, ChildOutOfState;

        /// <summary>Holds not yet released: one per child sent packets, plus the VS's own while it hands out.</summary>
        public int Outstanding = 1;

        /// <summary>Takes one more hold (the VS, before it sends a child its packets).</summary>
        public void Hold() => Interlocked.Increment(ref Outstanding);

        /// <summary>Adds a child's verdicts and releases its hold; true for the caller that released the last one.</summary>
        public bool Release(int accepted, int outOfState)
        {
            if (accepted != 0)
                Interlocked.Add(ref ChildAccepted, accepted);
            if (outOfState != 0)
                Interlocked.Add(ref ChildOutOfState, outOfState);
            return Interlocked.Decrement(ref Outstanding) == 0;
        }

        /// <summary>All verdicts of the batch (read by the VS once every hold is released).</summary>
        public Protocol.VerdictCounts Counts =>
            new(Accepted + Volatile.Read(ref ChildAccepted), PolicyDropped, Rejected, OutOfState + Volatile.Read(ref ChildOutOfState), OverLimit,
                OverPacketRate: OverPacketRate, OverNewConnectionRate: OverNewConnectionRate, Overload: Overload);
    }

    /// <summary>
    /// One batch's packets for one connection: the positions (<see cref="Indices"/>, in arrival order) of
    /// its packets in the whole batch <see cref="Batch"/>, which every child of the VS shares read-only —
    /// 4 bytes per packet instead of a copy of each packet. A connection with a single packet in the
    /// batch gets no array: <see cref="Indices"/> is null and <see cref="First"/> is its position.
    /// </summary>
    internal sealed record ConnectionPackets(BatchTally Tally, TimedPacket[] Batch, int[]? Indices, int First) : INoSerializationVerificationNeeded
    {
        /// <summary>How many packets of the batch are this connection's.</summary>
        public int Count => Indices?.Length ?? 1;

        /// <summary>The position in <see cref="Batch"/> of this connection's <paramref name="n"/>th packet.</summary>
        public int IndexAt(int n) => Indices is { } indices ? indices[n] : First;
    }

    /// <summary>A lifecycle change a packet caused, with the key (new originator after a reopen) and the state right after it.</summary>
    internal readonly record struct LifecycleChange(LifecycleTransition Transition, FlowKey Key, ConnectionState State);

    /// <summary>The lifecycle changes one batch caused on one connection (sent only when there are any: rare on established traffic).</summary>
    internal sealed record ConnectionChanges(LifecycleChange[] Changes) : INoSerializationVerificationNeeded;

    /// <summary>Asks a connection actor for its current state (for a connection listing).</summary>
    internal sealed record ReportState(long ListingId) : INoSerializationVerificationNeeded;

    /// <summary>A connection actor's answer to <see cref="ReportState"/>: its key (which may have been re-keyed by a reopen) and state.</summary>
    internal sealed record StateReport(long ListingId, FlowKey Key, ConnectionState State) : INoSerializationVerificationNeeded;

    /// <summary>
    /// A connection actor has been idle: either its connection expired (<see cref="Expired"/>) or it
    /// saw no packet for the passivation time. <see cref="PacketsSeen"/> lets the VS tell whether
    /// packets are still on their way to it (then the report is stale and ignored).
    /// </summary>
    internal sealed record ConnectionIdle(FlowKey Key, long PacketsSeen, ConnectionState State, bool Expired) : INoSerializationVerificationNeeded;
}
