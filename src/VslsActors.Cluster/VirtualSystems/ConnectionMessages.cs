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
    /// One batch's packets for one connection: the positions (<see cref="Indices"/>, in arrival order) of
    /// its packets in the whole batch <see cref="Batch"/>, which every child of the VS shares read-only —
    /// 4 bytes per packet instead of a copy of each packet.
    /// </summary>
    internal sealed record ConnectionPackets(long BatchId, TimedPacket[] Batch, int[] Indices) : INoSerializationVerificationNeeded;

    /// <summary>A lifecycle change a packet caused, with the key (new originator after a reopen) and the state right after it.</summary>
    internal readonly record struct LifecycleChange(LifecycleTransition Transition, FlowKey Key, ConnectionState State);

    /// <summary>The reply to <see cref="ConnectionPackets"/>: verdict counts and lifecycle changes (null when none, the common case).</summary>
    internal sealed record ConnectionVerdicts(long BatchId, int Accepted, int OutOfState, LifecycleChange[]? Changes) : INoSerializationVerificationNeeded;

    /// <summary>
    /// A connection actor has been idle: either its connection expired (<see cref="Expired"/>) or it
    /// saw no packet for the passivation time. <see cref="PacketsSeen"/> lets the VS tell whether
    /// packets are still on their way to it (then the report is stale and ignored).
    /// </summary>
    internal sealed record ConnectionIdle(FlowKey Key, long PacketsSeen, ConnectionState State, bool Expired) : INoSerializationVerificationNeeded;
}
