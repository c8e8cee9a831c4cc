namespace VslsActors.Domain.Connections;

/// <summary>
/// Why a packet was not accepted by connection tracking (an out-of-state drop). The caller
/// counts drops; these values let it count them by cause.
/// </summary>
public enum OutOfStateReason : byte
{
    /// <summary>The packet was accepted.</summary>
    None = 0,
    /// <summary>A TCP packet without SYN (ACK, data, FIN or RST) and no connection for it.</summary>
    TcpNoConnection = 1,
    /// <summary>A TCP SYN-ACK for which no SYN was seen.</summary>
    TcpSynAckWithoutSyn = 2,
    /// <summary>A TCP flag combination no stack sends (SYN with FIN or RST, or no flag at all on a first packet).</summary>
    TcpInvalidFlags = 3,
    /// <summary>A TCP packet other than a handshake packet or RST before the handshake completed.</summary>
    TcpHandshakeIncomplete = 4,
    /// <summary>A TCP packet without ACK (and without SYN or RST) on a synchronized connection.</summary>
    TcpMissingAck = 5,
    /// <summary>An ICMP/ICMPv6 echo reply for which no echo request was seen.</summary>
    IcmpEchoReplyWithoutRequest = 6,
    /// <summary>An ICMP/ICMPv6 echo reply travelling from the side that sent the request.</summary>
    IcmpEchoReplyFromRequester = 7,
}

/// <summary>The lifecycle change a packet caused, which a VS journals as a delta.</summary>
public enum LifecycleTransition : byte
{
    /// <summary>No lifecycle change.</summary>
    None = 0,
    /// <summary>The connection became established (TCP handshake done, or the first reply of a pseudo-session).</summary>
    Established = 1,
    /// <summary>The connection closed (TCP: second FIN, or RST).</summary>
    Closed = 2,
    /// <summary>
    /// A new SYN on a closed TCP connection (port reuse) started a new connection on the same
    /// key: the state now describes the new connection, and the caller must re-key it with
    /// <see cref="Flows.FlowKey.FromPacket"/> of this packet because the new originator may be the old responder.
    /// </summary>
    Reopened = 3,
}

/// <summary>Whether a packet with no connection may open one, and if not, why.</summary>
/// <param name="Opens">Whether the packet opens a connection.</param>
/// <param name="Reason">Why not, when it does not.</param>
public readonly record struct FirstPacketVerdict(bool Opens, OutOfStateReason Reason)
{
    /// <summary>The packet opens a connection.</summary>
    public static FirstPacketVerdict Open => new(true, OutOfStateReason.None);

    /// <summary>The packet is an out-of-state drop.</summary>
    public static FirstPacketVerdict OutOfState(OutOfStateReason reason) => new(false, reason);
}

/// <summary>The outcome of one packet on an existing connection.</summary>
/// <param name="Accepted">Whether the packet was accepted (and counted in the state).</param>
/// <param name="Transition">The lifecycle change it caused.</param>
/// <param name="Reason">Why it was dropped, when it was.</param>
public readonly record struct StepResult(bool Accepted, LifecycleTransition Transition, OutOfStateReason Reason)
{
    /// <summary>Accepted, no lifecycle change.</summary>
    public static StepResult Accept => new(true, LifecycleTransition.None, OutOfStateReason.None);

    /// <summary>Accepted with a lifecycle change.</summary>
    public static StepResult AcceptWith(LifecycleTransition transition) => new(true, transition, OutOfStateReason.None);

    /// <summary>Dropped as out-of-state; the state is unchanged.</summary>
    public static StepResult Drop(OutOfStateReason reason) => new(false, LifecycleTransition.None, reason);
}
