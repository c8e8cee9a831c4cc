using VslsActors.Traffic.Capture;

namespace VslsActors.Traffic.Tests.Capture;

/// <summary>
/// An untagged Ethernet frame goes to PacketDotNet at its IP header (the decoder skips the library's
/// Ethernet layer, which costs a third of its allocations); a tagged frame goes through the library's
/// Ethernet and 802.1Q layers; a raw-IP capture has no link header at all. The three paths must agree.
/// </summary>
public sealed class PacketDecoderPathTests
{
    public static TheoryData<string> Packets() => ["tcp4", "udp4", "tcp6", "udp6", "cut-tcp4", "bad-ihl"];

    private static byte[] Ethernet(string kind, int vlan)
    {
        var tcp = FrameBuilder.Tcp(40000, 443, 0x18);
        var udp = FrameBuilder.Udp(5353, 53, 30);
        var v6a = new UInt128(0x20010DB8_00000000, 1);
        var v6b = new UInt128(0x20010DB8_00000000, 2);
        var frame = kind switch
        {
            "tcp4" or "cut-tcp4" or "bad-ihl" => FrameBuilder.EthernetIPv4(0x0A000001, 0xC0A8010A, 6, tcp, 100, vlan),
            "udp4" => FrameBuilder.EthernetIPv4(0x0A000001, 0xC0A8010A, 17, udp, 0, vlan),
            "tcp6" => FrameBuilder.EthernetIPv6(v6a, v6b, 6, tcp, 100, vlan),
            _ => FrameBuilder.EthernetIPv6(v6a, v6b, 17, udp, 0, vlan),
        };
        var ip = vlan < 0 ? 14 : 18;
        if (kind == "cut-tcp4")
            frame = frame[..(ip + 20 + 10)]; // the TCP header runs past the captured bytes
        if (kind == "bad-ihl")
            frame[ip] = 0x44; // IHL 4: a header shorter than its 20 fixed bytes
        return frame;
    }

    private static DecodedFrame Decode(int linkType, byte[] frame) =>
        PacketDecoder.Decode(new CaptureFrame(0, linkType, new ArraySegment<byte>(frame), frame.Length, 1, 0));

    [Theory]
    [MemberData(nameof(Packets))]
    public void Untagged_tagged_and_raw_ip_frames_of_one_packet_decode_alike(string kind)
    {
        var untagged = Decode(LinkTypes.Ethernet, Ethernet(kind, vlan: -1));
        var tagged = Decode(LinkTypes.Ethernet, Ethernet(kind, vlan: 42));
        var raw = Decode(LinkTypes.Raw, Ethernet(kind, vlan: -1)[14..]);

        Assert.Equal(untagged.Issue, tagged.Issue);
        Assert.Equal(untagged.Issue, raw.Issue);
        Assert.Equal(untagged.Header, tagged.Header);
        Assert.Equal(untagged.Header, raw.Header);
        Assert.Equal(-1, untagged.Vlan);
        Assert.Equal(untagged.IsPacket ? 42 : -1, tagged.Vlan);
        Assert.Equal(kind switch { "cut-tcp4" => CaptureIssue.TcpHeaderPastFrame, "bad-ihl" => CaptureIssue.BadIpHeaderLength, _ => CaptureIssue.None }, untagged.Issue);
    }

    [Fact]
    public void An_untagged_tcp_packet_decodes_to_its_header_fields()
    {
        var decoded = Decode(LinkTypes.Ethernet, Ethernet("tcp4", vlan: -1));

        Assert.True(decoded.IsPacket);
        Assert.Equal(Domain.Net.IpProtocol.Tcp, decoded.Header.Protocol);
        Assert.Equal("10.0.0.1", decoded.Header.Source.ToString());
        Assert.Equal("192.168.1.10", decoded.Header.Destination.ToString());
        Assert.Equal(40000, decoded.Header.SourcePort);
        Assert.Equal(443, decoded.Header.DestinationPort);
        Assert.Equal(20 + 20 + 100, decoded.Header.IpLength);
    }
}
