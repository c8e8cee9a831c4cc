using System.Runtime.CompilerServices;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Domain.Connections;

/// <summary>
/// The connection state machines of a VS's connection table, as pure functions: whether a packet
/// with no connection opens one (<see cref="CanOpen"/>, <see cref="Open"/>), what a packet does to
/// an existing connection (<see cref="Step"/>), and when an idle connection expires
/// (<see cref="IdleTimeout"/>, <see cref="IsExpired"/>). Nothing here allocates.
/// </summary>
/// <remarks>
/// <para>Like a stateful firewall without sequence-number tracking:</para>
/// <list type="bullet">
/// <item>TCP opens only on a SYN without ACK. SYN-ACK from the responder → SynReceived; any
/// packet with ACK from the originator → Established. Retransmitted SYNs and SYN-ACKs are
/// accepted without a change. Other packets before the handshake completes are dropped
/// (<see cref="OutOfStateReason.TcpHandshakeIncomplete"/>). On a synchronized connection every
/// packet must carry ACK unless it is a SYN or RST. A SYN on an established connection is
/// accepted and changes nothing: without sequence numbers it cannot be told from a delayed
/// retransmission, and treating it as a reset would let any stray SYN tear connections down. The
/// first FIN → HalfClosed, the other side's FIN → Closed; RST from either side in any open phase
/// → Reset. On a Closed/Reset connection every packet is accepted and counted without a change
/// (late ACKs, retransmitted FINs) until the TCP end timeout removes it, except a SYN without ACK,
/// which reopens the key as a new connection (port reuse; <see cref="LifecycleTransition.Reopened"/>).</item>
/// <item>UDP and other IP protocols are pseudo-sessions: the first packet opens (New), the first
/// packet back from the responder makes them Replied (established).</item>
/// <item>ICMP/ICMPv6 echo is keyed by identifier: a request opens, a reply with no connection is
/// dropped, a reply from the responder makes it Answered, a reply from the requester is dropped.
/// Other ICMP messages are tracked per address pair like a pseudo-session.</item>
/// </list>
/// <para>Timeouts: TcpStart while SynSent/SynReceived, TcpSession when Established, TcpEnd once
/// a FIN (either side) or RST is seen, Udp, Icmp and Other for the pseudo-sessions. Idle time
/// runs from <see cref="ConnectionState.LastSeen"/>, which every accepted packet refreshes.</para>
/// </remarks>
public static class ConnectionStateMachine
{
    private const TcpFlags HandshakeBits = TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Fin | TcpFlags.Rst;

    /// <summary>Whether <paramref name="packet"/>, for which there is no connection, opens one.</summary>
    public static FirstPacketVerdict CanOpen(in PacketHeader packet)
    {
        switch (packet.Protocol)
        {
            case IpProtocol.Tcp:
                var f = packet.Flags & HandshakeBits;
                if ((f & TcpFlags.Syn) == 0)
                    return FirstPacketVerdict.OutOfState(f == TcpFlags.None ? OutOfStateReason.TcpInvalidFlags : OutOfStateReason.TcpNoConnection);
                if ((f & (TcpFlags.Fin | TcpFlags.Rst)) != 0)
                    return FirstPacketVerdict.OutOfState(OutOfStateReason.TcpInvalidFlags);
                if ((f & TcpFlags.Ack) != 0)
                    return FirstPacketVerdict.OutOfState(OutOfStateReason.TcpSynAckWithoutSyn);
                return FirstPacketVerdict.Open;
            case IpProtocol.Icmp or IpProtocol.IcmpV6:
                return IcmpTypes.IsEchoReply(packet)
                    ? FirstPacketVerdict.OutOfState(OutOfStateReason.IcmpEchoReplyWithoutRequest)
                    : FirstPacketVerdict.Open;
            default:
                return FirstPacketVerdict.Open;
        }
    }

    /// <summary>
    /// The state of a new connection opened by <paramref name="packet"/> at <paramref name="timestamp"/>
    /// (UTC ticks); the packet is counted as the originator's first.
    /// </summary>
    /// <exception cref="InvalidOperationException">The packet cannot open a connection (<see cref="CanOpen"/> refuses it).</exception>
    public static ConnectionState Open(in PacketHeader packet, long timestamp)
    {
        var verdict = CanOpen(packet);
        if (!verdict.Opens)
            throw new InvalidOperationException($"a {packet.Protocol.Name()} packet that is out of state ({verdict.Reason}) cannot open a connection");
        return OpenUnchecked(packet, timestamp);
    }

    private static ConnectionState OpenUnchecked(in PacketHeader packet, long timestamp) => new()
    {
        Phase = packet.Protocol switch
        {
            IpProtocol.Tcp => ConnectionPhase.TcpSynSent,
            IpProtocol.Udp => ConnectionPhase.UdpNew,
            IpProtocol.Icmp or IpProtocol.IcmpV6 => ConnectionPhase.IcmpRequested,
            _ => ConnectionPhase.OtherNew,
        },
        Protocol = packet.Protocol,
        OrigPackets = 1,
        OrigBytes = packet.IpLength,
        FirstSeen = timestamp,
        LastSeen = timestamp,
    };

    /// <summary>
    /// Applies one packet travelling in <paramref name="direction"/> at <paramref name="timestamp"/>
    /// (UTC ticks) to an open connection. An accepted packet is counted and refreshes
    /// <see cref="ConnectionState.LastSeen"/>; a dropped one leaves the state untouched. The caller
    /// checks <see cref="IsExpired"/> first: an expired connection is gone, and the packet is a
    /// first packet again.
    /// </summary>
    /// <exception cref="InvalidOperationException">The state was never opened (default value).</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static StepResult Step(ref ConnectionState state, in PacketHeader packet, FlowDirection direction, long timestamp)
    {
        // The common case first: a plain ACK/data segment on an established TCP connection.
        if (state.Phase == ConnectionPhase.TcpEstablished && (packet.Flags & HandshakeBits) == TcpFlags.Ack)
        {
            Count(ref state, packet, direction, timestamp);
            return StepResult.Accept;
        }
        return StepSlow(ref state, packet, direction, timestamp);
    }

    private static StepResult StepSlow(ref ConnectionState state, in PacketHeader packet, FlowDirection direction, long timestamp)
    {
        var result = state.Phase switch
        {
            >= ConnectionPhase.TcpSynSent and <= ConnectionPhase.TcpReset => StepTcp(ref state, packet, direction, timestamp),
            ConnectionPhase.UdpNew or ConnectionPhase.UdpReplied => StepPseudoSession(ref state, direction, ConnectionPhase.UdpNew, ConnectionPhase.UdpReplied),
            ConnectionPhase.IcmpRequested or ConnectionPhase.IcmpAnswered => StepIcmp(ref state, packet, direction),
            ConnectionPhase.OtherNew or ConnectionPhase.OtherReplied => StepPseudoSession(ref state, direction, ConnectionPhase.OtherNew, ConnectionPhase.OtherReplied),
            _ => throw new InvalidOperationException($"connection state in phase {state.Phase} was never opened"),
        };
        // A reopened state already counts its first packet (it was built by OpenUnchecked).
        if (result.Accepted && result.Transition != LifecycleTransition.Reopened)
            Count(ref state, packet, direction, timestamp);
        return result;
    }

    private static StepResult StepTcp(ref ConnectionState state, in PacketHeader packet, FlowDirection direction, long timestamp)
    {
        var f = packet.Flags & HandshakeBits;
        bool syn = (f & TcpFlags.Syn) != 0;
        bool ack = (f & TcpFlags.Ack) != 0;
        bool fin = (f & TcpFlags.Fin) != 0;
        bool rst = (f & TcpFlags.Rst) != 0;
        bool original = direction == FlowDirection.Original;

        if (syn && (fin || rst))
            return StepResult.Drop(OutOfStateReason.TcpInvalidFlags);

        switch (state.Phase)
        {
            case ConnectionPhase.TcpSynSent:
                if (rst)
                    return Reset(ref state);
                if (original)
                    // Only a retransmitted SYN is expected from the originator before the SYN-ACK.
                    return syn && !ack ? StepResult.Accept : StepResult.Drop(OutOfStateReason.TcpHandshakeIncomplete);
                if (syn)
                {
                    // SYN-ACK, or a bare SYN of a simultaneous open: either way the responder is synchronizing.
                    state.Phase = ConnectionPhase.TcpSynReceived;
                    return StepResult.Accept;
                }
                return StepResult.Drop(OutOfStateReason.TcpHandshakeIncomplete);

            case ConnectionPhase.TcpSynReceived:
                if (rst)
                    return Reset(ref state);
                if (original)
                {
                    if (ack)
                    {
                        // The originator acknowledges the SYN-ACK (possibly with data or a FIN
                        // already): the handshake is complete.
                        state.Phase = ConnectionPhase.TcpEstablished;
                        if (fin)
                            state.Phase = SeeFin(ref state, original);
                        return StepResult.AcceptWith(LifecycleTransition.Established);
                    }
                    return syn ? StepResult.Accept : StepResult.Drop(OutOfStateReason.TcpHandshakeIncomplete);
                }
                // The responder cannot be past the handshake before the originator's ACK has
                // passed through here; only a retransmitted SYN-ACK (or SYN) is expected.
                return syn ? StepResult.Accept : StepResult.Drop(OutOfStateReason.TcpHandshakeIncomplete);

            case ConnectionPhase.TcpEstablished or ConnectionPhase.TcpHalfClosed:
                if (rst)
                    return Reset(ref state);
                if (syn)
                    return StepResult.Accept;
                if (!ack)
                    return StepResult.Drop(OutOfStateReason.TcpMissingAck);
                if (fin)
                {
                    state.Phase = SeeFin(ref state, original);
                    if (state.Phase == ConnectionPhase.TcpClosed)
                        return StepResult.AcceptWith(LifecycleTransition.Closed);
                }
                return StepResult.Accept;

            default: // TcpClosed, TcpReset
                if (syn && !ack)
                {
                    state = OpenUnchecked(packet, timestamp);
                    return StepResult.AcceptWith(LifecycleTransition.Reopened);
                }
                return StepResult.Accept;
        }
    }

    private static ConnectionPhase SeeFin(ref ConnectionState state, bool original)
    {
        if (original)
            state.OriginatorFinSeen = true;
        else
            state.ResponderFinSeen = true;
        return state.OriginatorFinSeen && state.ResponderFinSeen ? ConnectionPhase.TcpClosed : ConnectionPhase.TcpHalfClosed;
    }

    private static StepResult Reset(ref ConnectionState state)
    {
        state.Phase = ConnectionPhase.TcpReset;
        return StepResult.AcceptWith(LifecycleTransition.Closed);
    }

    private static StepResult StepPseudoSession(ref ConnectionState state, FlowDirection direction, ConnectionPhase fresh, ConnectionPhase replied)
    {
        if (direction == FlowDirection.Reply && state.Phase == fresh)
        {
            state.Phase = replied;
            return StepResult.AcceptWith(LifecycleTransition.Established);
        }
        return StepResult.Accept;
    }

    private static StepResult StepIcmp(ref ConnectionState state, in PacketHeader packet, FlowDirection direction)
    {
        if (direction == FlowDirection.Original)
            return IcmpTypes.IsEchoReply(packet) ? StepResult.Drop(OutOfStateReason.IcmpEchoReplyFromRequester) : StepResult.Accept;
        // From the responder: an echo request with the same identifier (the responder pinging
        // back) is accepted but answers nothing; an echo reply or any non-echo message does.
        if (state.Phase == ConnectionPhase.IcmpRequested && !IcmpTypes.IsEchoRequest(packet))
        {
            state.Phase = ConnectionPhase.IcmpAnswered;
            return StepResult.AcceptWith(LifecycleTransition.Established);
        }
        return StepResult.Accept;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Count(ref ConnectionState state, in PacketHeader packet, FlowDirection direction, long timestamp)
    {
        if (direction == FlowDirection.Original)
        {
            state.OrigPackets++;
            state.OrigBytes += packet.IpLength;
        }
        else
        {
            state.RespPackets++;
            state.RespBytes += packet.IpLength;
        }
        // Batches may deliver packets slightly out of order; idle time runs from the newest.
        if (timestamp > state.LastSeen)
            state.LastSeen = timestamp;
    }

    /// <summary>The idle timeout that applies to the connection in its current phase.</summary>
    public static TimeSpan IdleTimeout(in ConnectionState state, ConnectionTimeouts timeouts) => state.Phase switch
    {
        ConnectionPhase.TcpSynSent or ConnectionPhase.TcpSynReceived => timeouts.TcpStart,
        ConnectionPhase.TcpEstablished => timeouts.TcpSession,
        ConnectionPhase.TcpHalfClosed or ConnectionPhase.TcpClosed or ConnectionPhase.TcpReset => timeouts.TcpEnd,
        ConnectionPhase.UdpNew or ConnectionPhase.UdpReplied => timeouts.Udp,
        ConnectionPhase.IcmpRequested or ConnectionPhase.IcmpAnswered => timeouts.Icmp,
        _ => timeouts.Other,
    };

    /// <summary>
    /// Whether the connection has been idle for at least its <see cref="IdleTimeout"/> at
    /// <paramref name="now"/> (UTC ticks). Exactly the timeout counts as expired.
    /// </summary>
    public static bool IsExpired(in ConnectionState state, long now, ConnectionTimeouts timeouts) =>
        now - state.LastSeen >= IdleTimeout(state, timeouts).Ticks;

    /// <summary>The UTC-ticks instant at which the connection expires if no packet arrives before it.</summary>
    public static long ExpiresAt(in ConnectionState state, ConnectionTimeouts timeouts) =>
        state.LastSeen + IdleTimeout(state, timeouts).Ticks;
}
