using System.Buffers.Binary;
using PacketDotNet;
using PacketDotNet.Utils;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Traffic.Capture;

/// <summary>
/// A frame decoded for replay: the <see cref="PacketHeader"/> a VS needs, the 802.1Q VLAN id it
/// carried (-1 when untagged), or why it is not a packet (<see cref="Issue"/>).
/// </summary>
/// <param name="Issue"><see cref="CaptureIssue.None"/> for a packet; otherwise why the frame is skipped.</param>
/// <param name="Header">The packet's header; default unless <see cref="Issue"/> is none.</param>
/// <param name="Vlan">The first (outer) 802.1Q VLAN id of an Ethernet frame, or -1.</param>
public readonly record struct DecodedFrame(CaptureIssue Issue, PacketHeader Header, int Vlan)
{
    /// <summary>Whether the frame is a packet to replay.</summary>
    public bool IsPacket => Issue == CaptureIssue.None;
}

/// <summary>
/// Hands a captured frame to PacketDotNet and turns what it decodes into a <see cref="PacketHeader"/>:
/// Ethernet (with 802.1Q tags), Linux cooked capture v1/v2, BSD loopback (null and loop) and raw IP
/// link types; IPv4 and IPv6 (PacketDotNet follows IPv6 extension headers); TCP, UDP, ICMP, ICMPv6 and
/// any other IP protocol by its number. The library is lenient with malformed headers, so before
/// trusting a length it decoded, the decoder checks it against the captured bytes and reports the
/// frame as a <see cref="CaptureIssue"/> instead; an exception from the library is caught and
/// counted as <see cref="CaptureIssue.Undecodable"/>. The frame's bytes are wrapped, not copied.
/// </summary>
/// <remarks>
/// <see cref="PacketHeader.IpLength"/> is the IPv4 total length or the IPv6 payload length + 40
/// (what Wireshark shows as <c>ip.len</c> and Zeek counts in <c>orig_ip_bytes</c>), taken from the
/// header even when the snapshot length cut the captured frame short.
/// </remarks>
public static class PacketDecoder
{
    private const int Ipv4MinHeader = 20;
    private const int Ipv6Header = 40;
    private const int TcpMinHeader = 20;

    /// <summary>Decodes <paramref name="frame"/>. Never throws for bad bytes.</summary>
    public static DecodedFrame Decode(in CaptureFrame frame)
    {
        var data = frame.Data;
        if (data.Array is null)
            return new DecodedFrame(CaptureIssue.TruncatedFrame, default, -1);
        try
        {
            return DecodeLink(frame.LinkType, data);
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or InvalidOperationException or NullReferenceException or OverflowException)
        {
            // PacketDotNet throws these for bytes it cannot make sense of (its checks are not
            // exhaustive: the ones above catch what matters for replay first).
            return new DecodedFrame(CaptureIssue.Undecodable, default, -1);
        }
    }

    private static DecodedFrame DecodeLink(int linkType, ArraySegment<byte> data)
    {
        // The 4-argument form bounds the segment at the frame's end. With the 3-argument one, the
        // segments PacketDotNet derives for inner layers (NextSegment) run to the end of the whole
        // array: a cut-short frame was then parsed on into whatever followed it in the buffer (the
        // next frames), so its verdict depended on its neighbours, and garbage chains of nested
        // headers could recurse until the stack overflowed.
        var end = data.Offset + data.Count;
        var segment = new ByteArraySegment(data.Array!, data.Offset, data.Count, end);
        switch (linkType)
        {
            case LinkTypes.Ethernet:
            {
                if (data.Count < 14)
                    return Issue(CaptureIssue.TruncatedFrame);
                if (ScreenEthernet(data) is var screened and not CaptureIssue.None)
                    return Issue(screened);
                // An untagged Ethernet II header is 14 bytes whose one field that matters, the EtherType,
                // the screen above has just read: the IP packet goes to PacketDotNet directly. Its
                // EthernetPacket layer costs a third of the decoder's allocations (296 of 864 bytes a
                // frame, measured), for nothing the replay uses. Tagged frames keep the library's
                // 802.1Q decoding, which gives the VLAN id.
                var etherType = BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(12));
                if (etherType is EtherTypeIPv4 or EtherTypeIPv6)
                {
                    var ip = new ByteArraySegment(data.Array!, data.Offset + 14, data.Count - 14, end);
                    return FromIp(IpPacketOf(ip, etherType == EtherTypeIPv4 ? 4 : 6), data, -1);
                }
                var vlan = -1;
                Packet? payload = new EthernetPacket(segment).PayloadPacket;
                // 802.1Q (and QinQ) tags: the outer tag names the VLAN; the IP packet is inside the last one.
                while (payload is Ieee8021QPacket tag)
                {
                    if (vlan < 0)
                        vlan = tag.VlanIdentifier;
                    payload = tag.PayloadPacket;
                }
                return FromIp(payload, data, vlan);
            }
            case LinkTypes.LinuxSll:
                if (data.Count < 16)
                    return Issue(CaptureIssue.TruncatedFrame);
                return ScreenByEtherType(data, BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(14)), 16) is var sll and not CaptureIssue.None
                    ? Issue(sll)
                    : FromIp(new LinuxSllPacket(segment).PayloadPacket, data, -1);
            case LinkTypes.LinuxSll2:
                if (data.Count < 20)
                    return Issue(CaptureIssue.TruncatedFrame);
                return ScreenByEtherType(data, BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(0)), 20) is var sll2 and not CaptureIssue.None
                    ? Issue(sll2)
                    : FromIp(new LinuxSll2Packet(segment).PayloadPacket, data, -1);
            case LinkTypes.Null or LinkTypes.Loop:
            {
                if (data.Count < 4)
                    return Issue(CaptureIssue.TruncatedFrame);
                // The 4-byte address family is in the capturing host's byte order for DLT_NULL (so
                // either order here) and in network order for DLT_LOOP; AF_INET is 2 everywhere, AF_INET6
                // is 10 (Linux), 24, 28 or 30 (the BSDs, macOS). PacketDotNet's NullPacket reads one byte
                // order and knows fewer families, so the family picks the IP packet type here.
                var family = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan());
                if (family > 0xFFFF)
                    family = BinaryPrimitives.ReverseEndianness(family);
                var ip = new ByteArraySegment(data.Array!, data.Offset + 4, data.Count - 4, end);
                var version = family switch
                {
                    2 => 4,
                    10 or 24 or 28 or 30 => 6,
                    _ => 0,
                };
                if (version == 0)
                    return Issue(CaptureIssue.NotIp);
                return ScreenIp(data, 4, version) is var loop and not CaptureIssue.None ? Issue(loop) : FromIp(IpPacketOf(ip, version), data, -1);
            }
            case LinkTypes.Raw or LinkTypes.IPv4 or LinkTypes.IPv6:
            {
                if (data.Count < 1)
                    return Issue(CaptureIssue.TruncatedFrame);
                var version = data.Array![data.Offset] >> 4;
                if (linkType == LinkTypes.IPv4 && version != 4 || linkType == LinkTypes.IPv6 && version != 6)
                    return Issue(CaptureIssue.BadIpHeaderLength);
                if (version is not (4 or 6))
                    return Issue(CaptureIssue.NotIp);
                return ScreenIp(data, 0, version) is var raw and not CaptureIssue.None ? Issue(raw) : FromIp(IpPacketOf(segment, version), data, -1);
            }
            default:
                return Issue(CaptureIssue.UnknownLinkType);
        }
    }

    // ---- Screening. PacketDotNet reads header fields without checking them against the bytes it was
    // given: a header cut short is completed from whatever lies past the frame's end in the buffer, and
    // an IPv4 header length of 0 with protocol 4 (IP in IP) makes it parse the same bytes as the inner
    // packet again and again until the stack overflows (an uncatchable crash, found by the parallel
    // decoder's tests, where the bytes past a frame differ from the sequential reader's). So the length
    // fields the library would follow are checked here first, with the same verdicts FromIp gives; the
    // values themselves still come from PacketDotNet.

    private const ushort EtherTypeIPv4 = 0x0800;
    private const ushort EtherTypeIPv6 = 0x86DD;
    private const ushort EtherTypeVlan = 0x8100;

    private static CaptureIssue ScreenEthernet(ArraySegment<byte> frame)
    {
        var at = 12;
        var type = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(at));
        while (type == EtherTypeVlan)
        {
            at += 4;
            if (frame.Count < at + 2)
                return CaptureIssue.None; // PacketDotNet reports the cut-short tag (no IP payload)
            type = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(at));
        }
        return ScreenByEtherType(frame, type, at + 2);
    }

    private static CaptureIssue ScreenByEtherType(ArraySegment<byte> frame, ushort type, int ipAt) => type switch
    {
        EtherTypeIPv4 => ScreenIp(frame, ipAt, 4),
        EtherTypeIPv6 => ScreenIp(frame, ipAt, 6),
        _ => CaptureIssue.None,
    };

    private static CaptureIssue ScreenIp(ArraySegment<byte> frame, int ipAt, int version)
    {
        var ip = frame.AsSpan(Math.Min(ipAt, frame.Count));
        if (version == 4)
        {
            if (ip.Length < Ipv4MinHeader)
                return CaptureIssue.TruncatedFrame;
            var headerBytes = (ip[0] & 0x0F) * 4;
            var total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            if (ip[0] >> 4 != 4 || headerBytes < Ipv4MinHeader || headerBytes > ip.Length || total < headerBytes)
                return CaptureIssue.BadIpHeaderLength;
            if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1FFF) != 0)
                return CaptureIssue.IpFragment;
            return ScreenTransport(ip[9], Math.Min(ip.Length, total) - headerBytes);
        }
        if (ip.Length < Ipv6Header)
            return CaptureIssue.TruncatedFrame;
        if (ip[0] >> 4 != 6)
            return CaptureIssue.BadIpHeaderLength;
        // Extension headers each advance by their own length (at least 8 bytes): PacketDotNet follows them
        // without looping, and the transport checks in Transport() apply after them.
        var payload = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        return ScreenTransport(ip[6], Math.Min(ip.Length - Ipv6Header, payload));
    }

    private static CaptureIssue ScreenTransport(byte protocol, int available) => (IpProtocol)protocol switch
    {
        IpProtocol.Tcp when available < TcpMinHeader => CaptureIssue.TcpHeaderPastFrame,
        IpProtocol.Udp or IpProtocol.Icmp or IpProtocol.IcmpV6 when available < 8 => CaptureIssue.TruncatedFrame,
        _ => CaptureIssue.None,
    };

    private static IPPacket? IpPacketOf(ByteArraySegment segment, int version)
    {
        if (segment.Length < (version == 4 ? Ipv4MinHeader : Ipv6Header))
            return null; // reported as a truncated frame by FromIp
        return version == 4 ? new IPv4Packet(segment) : new IPv6Packet(segment);
    }

    private static DecodedFrame Issue(CaptureIssue issue) => new(issue, default, -1);

    private static DecodedFrame FromIp(Packet? payload, ArraySegment<byte> frame, int vlan)
    {
        var frameEnd = frame.Offset + frame.Count;
        switch (payload)
        {
            case IPv4Packet v4:
            {
                var ipStart = v4.HeaderSegment.Offset;
                if (frameEnd - ipStart < Ipv4MinHeader)
                    return Issue(CaptureIssue.TruncatedFrame);
                var headerBytes = v4.HeaderLength * 4; // IHL, in 32-bit words
                var total = v4.TotalLength;
                if (v4.Version != IPVersion.IPv4 || headerBytes < Ipv4MinHeader || headerBytes > frameEnd - ipStart || total < headerBytes)
                    return Issue(CaptureIssue.BadIpHeaderLength);
                if (v4.FragmentOffset != 0)
                    return Issue(CaptureIssue.IpFragment);
                var source = NetAddress.FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(frame.Array.AsSpan(ipStart + 12)));
                var destination = NetAddress.FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(frame.Array.AsSpan(ipStart + 16)));
                // The transport header ends at the end of the IP packet or of the captured bytes, whichever is first.
                var transportStart = ipStart + headerBytes;
                var transportEnd = Math.Min(frameEnd, ipStart + total);
                return Transport(v4, (IpProtocol)(byte)v4.Protocol, source, destination, transportStart, transportEnd, total, vlan);
            }
            case IPv6Packet v6:
            {
                var ipStart = v6.HeaderSegment.Offset;
                if (frameEnd - ipStart < Ipv6Header)
                    return Issue(CaptureIssue.TruncatedFrame);
                if (v6.Version != IPVersion.IPv6)
                    return Issue(CaptureIssue.BadIpHeaderLength);
                var length = v6.PayloadLength + Ipv6Header;
                var source = Ipv6Address(frame.Array!, ipStart + 8);
                var destination = Ipv6Address(frame.Array!, ipStart + 24);
                var transportStart = ipStart + Ipv6Header + v6.ExtensionHeadersLength;
                var transportEnd = Math.Min(frameEnd, ipStart + length);
                return Transport(v6, (IpProtocol)(byte)v6.Protocol, source, destination, transportStart, transportEnd, length, vlan);
            }
            case null:
                // A link layer that announced IP but held too few bytes for its header, or no payload at all.
                return Issue(frame.Count > 0 && IsIpEtherType(frame) ? CaptureIssue.TruncatedFrame : CaptureIssue.NotIp);
            default:
                return Issue(CaptureIssue.NotIp);
        }
    }

    // The addresses are read at their fixed offsets in the header PacketDotNet located rather than
    // through its SourceAddress/DestinationAddress, which allocate an IPAddress (and for IPv6 a byte
    // array) per call: measured, that was a large share of the decoder's time.
    private static NetAddress Ipv6Address(byte[] bytes, int at) =>
        NetAddress.FromIPv6(BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(at)), BinaryPrimitives.ReadUInt64BigEndian(bytes.AsSpan(at + 8)));

    // Whether an Ethernet-like frame announced IPv4/IPv6 but PacketDotNet produced no IP packet (too short).
    private static bool IsIpEtherType(ArraySegment<byte> frame) => frame.Count >= 14 &&
        BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12)) is 0x0800 or 0x86DD;

    private static DecodedFrame Transport(IPPacket ip, IpProtocol protocol, NetAddress source, NetAddress destination, int transportStart, int transportEnd, int ipLength, int vlan)
    {
        var available = transportEnd - transportStart;
        switch (protocol)
        {
            case IpProtocol.Tcp:
            {
                if (available < TcpMinHeader)
                    return Issue(CaptureIssue.TcpHeaderPastFrame);
                if (ip.PayloadPacket is not TcpPacket tcp)
                    return Issue(CaptureIssue.TcpHeaderPastFrame);
                var headerBytes = tcp.DataOffset * 4; // data offset, in 32-bit words
                if (headerBytes < TcpMinHeader || headerBytes > available)
                    return Issue(CaptureIssue.TcpHeaderPastFrame);
                var flags = (TcpFlags)(byte)(tcp.Flags & 0x3F);
                return new DecodedFrame(CaptureIssue.None, PacketHeader.Tcp(source, tcp.SourcePort, destination, tcp.DestinationPort, flags, ipLength), vlan);
            }
            case IpProtocol.Udp:
            {
                if (available < 8 || ip.PayloadPacket is not UdpPacket udp)
                    return Issue(CaptureIssue.TruncatedFrame);
                return new DecodedFrame(CaptureIssue.None, PacketHeader.Udp(source, udp.SourcePort, destination, udp.DestinationPort, ipLength), vlan);
            }
            case IpProtocol.Icmp:
            {
                if (available < 8 || ip.PayloadPacket is not IcmpV4Packet icmp)
                    return Issue(CaptureIssue.TruncatedFrame);
                var type = (byte)((ushort)icmp.TypeCode >> 8);
                return new DecodedFrame(CaptureIssue.None, PacketHeader.Icmp(source, destination, type, icmp.Id, ipLength), vlan);
            }
            case IpProtocol.IcmpV6:
            {
                if (available < 8 || ip.PayloadPacket is not IcmpV6Packet icmp)
                    return Issue(CaptureIssue.TruncatedFrame);
                var type = (byte)icmp.Type;
                // PacketDotNet has no echo identifier for ICMPv6: it is the first field of the echo
                // body, right after the 4-byte type/code/checksum header the library decoded.
                var body = icmp.HeaderSegment;
                var id = BinaryPrimitives.ReadUInt16BigEndian(body.Bytes.AsSpan(body.Offset + 4, 2));
                return new DecodedFrame(CaptureIssue.None, PacketHeader.Icmp(source, destination, type, id, ipLength), vlan);
            }
            default:
                return new DecodedFrame(CaptureIssue.None, PacketHeader.OtherIp(protocol, source, destination, ipLength), vlan);
        }
    }
}
