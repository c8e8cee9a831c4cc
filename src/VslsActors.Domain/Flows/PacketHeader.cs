using VslsActors.Domain.Net;

namespace VslsActors.Domain.Flows;

/// <summary>
/// TCP control flags, with the bit values they have on the wire (the low six bits of the TCP
/// flags byte), so a captured flags byte converts with a plain cast.
/// </summary>
[Flags]
public enum TcpFlags : byte
{
    /// <summary>No flag set.</summary>
    None = 0,
    /// <summary>The sender has finished sending.</summary>
    Fin = 1,
    /// <summary>Synchronize sequence numbers (connection opening).</summary>
    Syn = 2,
    /// <summary>Reset the connection.</summary>
    Rst = 4,
    /// <summary>Push buffered data to the application.</summary>
    Psh = 8,
    /// <summary>The acknowledgment number is valid.</summary>
    Ack = 16,
    /// <summary>The urgent pointer is valid.</summary>
    Urg = 32,
}

/// <summary>
/// The fields of one packet that flow keying and the connection state machines need, and
/// nothing else: a compact value the hot path passes by <c>in</c> reference.
/// </summary>
/// <param name="Protocol">IP protocol number.</param>
/// <param name="Source">Source address.</param>
/// <param name="SourcePort">TCP/UDP source port; ignored for other protocols.</param>
/// <param name="Destination">Destination address.</param>
/// <param name="DestinationPort">TCP/UDP destination port; ignored for other protocols.</param>
/// <param name="Flags">TCP flags; <see cref="TcpFlags.None"/> for other protocols.</param>
/// <param name="IcmpType">ICMP/ICMPv6 message type; ignored for other protocols.</param>
/// <param name="IcmpId">ICMP/ICMPv6 echo identifier; meaningful for echo request/reply only.</param>
/// <param name="IpLength">
/// IP-level bytes of the packet: the IPv4 total length, or the IPv6 payload length + 40. This is
/// what the connection counters add up (Zeek's <c>orig_ip_bytes</c>/<c>resp_ip_bytes</c>).
/// </param>
public readonly record struct PacketHeader(
    IpProtocol Protocol,
    NetAddress Source,
    ushort SourcePort,
    NetAddress Destination,
    ushort DestinationPort,
    TcpFlags Flags,
    byte IcmpType,
    ushort IcmpId,
    int IpLength)
{
    /// <summary>A TCP segment.</summary>
    public static PacketHeader Tcp(NetAddress source, ushort sourcePort, NetAddress destination, ushort destinationPort, TcpFlags flags, int ipLength) =>
        new(IpProtocol.Tcp, source, sourcePort, destination, destinationPort, flags, 0, 0, ipLength);

    /// <summary>A UDP datagram.</summary>
    public static PacketHeader Udp(NetAddress source, ushort sourcePort, NetAddress destination, ushort destinationPort, int ipLength) =>
        new(IpProtocol.Udp, source, sourcePort, destination, destinationPort, TcpFlags.None, 0, 0, ipLength);

    /// <summary>
    /// An ICMP (IPv4 source) or ICMPv6 (IPv6 source) message; the protocol follows the address
    /// family so that callers cannot pair an ICMPv4 type with an IPv6 packet by accident.
    /// </summary>
    public static PacketHeader Icmp(NetAddress source, NetAddress destination, byte type, ushort id, int ipLength) =>
        new(source.IsIPv4 ? IpProtocol.Icmp : IpProtocol.IcmpV6, source, 0, destination, 0, TcpFlags.None, type, id, ipLength);

    /// <summary>A packet of any other IP protocol, tracked by addresses and protocol alone.</summary>
    public static PacketHeader OtherIp(IpProtocol protocol, NetAddress source, NetAddress destination, int ipLength) =>
        new(protocol, source, 0, destination, 0, TcpFlags.None, 0, 0, ipLength);
}

/// <summary>ICMP and ICMPv6 message types that the connection tracking treats specially.</summary>
public static class IcmpTypes
{
    /// <summary>ICMPv4 echo request.</summary>
    public const byte EchoRequestV4 = 8;
    /// <summary>ICMPv4 echo reply.</summary>
    public const byte EchoReplyV4 = 0;
    /// <summary>ICMPv6 echo request.</summary>
    public const byte EchoRequestV6 = 128;
    /// <summary>ICMPv6 echo reply.</summary>
    public const byte EchoReplyV6 = 129;

    /// <summary>Whether the packet is an ICMP or ICMPv6 echo request.</summary>
    public static bool IsEchoRequest(in PacketHeader p) =>
        (p.Protocol == IpProtocol.Icmp && p.IcmpType == EchoRequestV4) ||
        (p.Protocol == IpProtocol.IcmpV6 && p.IcmpType == EchoRequestV6);

    /// <summary>Whether the packet is an ICMP or ICMPv6 echo reply.</summary>
    public static bool IsEchoReply(in PacketHeader p) =>
        (p.Protocol == IpProtocol.Icmp && p.IcmpType == EchoReplyV4) ||
        (p.Protocol == IpProtocol.IcmpV6 && p.IcmpType == EchoReplyV6);

    /// <summary>Whether the packet is an ICMP or ICMPv6 echo request or reply.</summary>
    public static bool IsEcho(in PacketHeader p) => IsEchoRequest(p) || IsEchoReply(p);
}
