using System.Buffers.Binary;
using CsCheck;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Traffic.Capture;

namespace VslsActors.Traffic.Tests.Capture;

public sealed class CaptureReaderTests
{
    private const uint Client = 0x0A000001; // 10.0.0.1
    private const uint Server = 0xC0A8010A; // 192.168.1.10
    private static readonly long T0 = new DateTime(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc).Ticks;
    private static readonly uint T0Seconds = (uint)((T0 - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond);

    private static byte[] Syn(int vlan = -1) => FrameBuilder.EthernetIPv4(Client, Server, 6, FrameBuilder.Tcp(40000, 443, 0x02), vlan: vlan);
    private static byte[] SynAck() => FrameBuilder.EthernetIPv4(Server, Client, 6, FrameBuilder.Tcp(443, 40000, 0x12), payloadBytes: 10);

    private sealed record Read(List<(CaptureFrame Frame, DecodedFrame Decoded)> Frames, CaptureReader Reader);

    private static Read ReadAll(byte[] file)
    {
        var reader = CaptureReader.Open(new MemoryStream(file), "test.cap");
        var frames = new List<(CaptureFrame, DecodedFrame)>();
        while (reader.TryRead(out var frame))
        {
            var decoded = PacketDecoder.Decode(frame);
            // The frame's bytes are only valid until the next read: keep a copy.
            frames.Add((frame with { Data = new ArraySegment<byte>(frame.Data.ToArray()) }, decoded));
        }
        return new Read(frames, reader);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Pcap_in_either_byte_order_and_resolution_gives_the_frames_their_times_and_headers(bool bigEndian, bool nanoseconds)
    {
        var file = PcapBytes.File(bigEndian, nanoseconds, LinkTypes.Ethernet,
            (T0Seconds, nanoseconds ? 123_456_700u : 123_456u, Syn()),
            (T0Seconds + 1, 0, SynAck()));

        var read = ReadAll(file);

        Assert.Equal(CaptureIssue.None, read.Reader.Issue);
        Assert.Equal("pcap", read.Reader.Format);
        Assert.Equal(2, read.Frames.Count);
        Assert.Equal(T0 + (nanoseconds ? 1_234_567 : 1_234_560), read.Frames[0].Frame.Timestamp);
        Assert.Equal(T0 + TimeSpan.TicksPerSecond, read.Frames[1].Frame.Timestamp);
        Assert.Equal([1L, 2L], read.Frames.Select(f => f.Frame.Number));
        var syn = read.Frames[0].Decoded;
        Assert.True(syn.IsPacket);
        Assert.Equal(PacketHeader.Tcp(NetAddress.FromIPv4(Client), 40000, NetAddress.FromIPv4(Server), 443, TcpFlags.Syn, 40), syn.Header);
        Assert.Equal(-1, syn.Vlan);
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, read.Frames[1].Decoded.Header.Flags);
        Assert.Equal(50, read.Frames[1].Decoded.Header.IpLength); // IPv4 total length: 20 + 20 + 10 bytes of data
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pcapng_reads_each_interface_with_its_own_link_type_and_timestamp_resolution(bool bigEndian)
    {
        var rawIp = Syn()[14..]; // the same IPv4 packet without its Ethernet header
        var sinceEpochNs = (ulong)(T0 - DateTime.UnixEpoch.Ticks) * 100;
        var file = new PcapNgBuilder(bigEndian)
            .Section()
            .Interface(LinkTypes.Ethernet)                      // microseconds (default)
            .Interface(LinkTypes.Raw, tsresol: 9, tsoffset: 60) // nanoseconds, 60 s offset
            .Other()
            .Enhanced(0, sinceEpochNs / 1000 + 5, Syn(vlan: 42))
            .Enhanced(1, sinceEpochNs + 700, rawIp)
            .Simple(SynAck())
            .Bytes();

        var read = ReadAll(file);

        Assert.Equal(CaptureIssue.None, read.Reader.Issue);
        Assert.Equal("pcapng", read.Reader.Format);
        Assert.Equal(3, read.Frames.Count);
        Assert.Equal([LinkTypes.Ethernet, LinkTypes.Raw, LinkTypes.Ethernet], read.Frames.Select(f => f.Frame.LinkType));
        Assert.Equal(T0 + 50, read.Frames[0].Frame.Timestamp);
        Assert.Equal(T0 + 60 * TimeSpan.TicksPerSecond + 7, read.Frames[1].Frame.Timestamp);
        Assert.Equal(read.Frames[1].Frame.Timestamp, read.Frames[2].Frame.Timestamp); // a simple packet block has no time of its own
        Assert.Equal(42, read.Frames[0].Decoded.Vlan);
        Assert.Equal(read.Frames[0].Decoded.Header, read.Frames[1].Decoded.Header);
        Assert.Equal(443, read.Frames[2].Decoded.Header.SourcePort);
    }

    [Fact]
    public void A_new_section_may_switch_byte_order_and_redefine_its_interfaces()
    {
        var first = new PcapNgBuilder(bigEndian: false).Section().Interface(LinkTypes.Ethernet).Enhanced(0, 1, Syn()).Bytes();
        var second = new PcapNgBuilder(bigEndian: true).Section().Interface(LinkTypes.Raw).Enhanced(0, 2, Syn()[14..]).Bytes();

        var read = ReadAll([.. first, .. second]);

        Assert.Equal(CaptureIssue.None, read.Reader.Issue);
        Assert.Equal([LinkTypes.Ethernet, LinkTypes.Raw], read.Frames.Select(f => f.Frame.LinkType));
        Assert.All(read.Frames, f => Assert.Equal(443, f.Decoded.Header.DestinationPort));
    }

    [Fact]
    public void IPv6_udp_icmp_echo_and_icmpv6_echo_decode_with_ip_level_lengths_and_echo_ids()
    {
        var a = (UInt128)0x20010DB8_00000000UL << 64 | 1;
        var b = (UInt128)0x20010DB8_00000000UL << 64 | 2;
        var file = PcapBytes.File(false, false, LinkTypes.Ethernet,
            (T0Seconds, 0, FrameBuilder.EthernetIPv6(a, b, 17, FrameBuilder.Udp(5353, 53, 30), payloadBytes: 30)),
            (T0Seconds, 1, FrameBuilder.EthernetIPv4(Client, Server, 1, FrameBuilder.IcmpEcho(8, 77, 1), payloadBytes: 56)),
            (T0Seconds, 2, FrameBuilder.EthernetIPv6(b, a, 58, FrameBuilder.IcmpEcho(129, 99, 1), payloadBytes: 56)));

        var read = ReadAll(file);

        Assert.All(read.Frames, f => Assert.True(f.Decoded.IsPacket, f.Decoded.Issue.Name()));
        var udp = read.Frames[0].Decoded.Header;
        Assert.Equal(PacketHeader.Udp(NetAddress.FromIPv6((ulong)(a >> 64), (ulong)a), 5353, NetAddress.FromIPv6((ulong)(b >> 64), (ulong)b), 53, 40 + 8 + 30), udp);
        var ping = read.Frames[1].Decoded.Header;
        Assert.Equal((IpProtocol.Icmp, (byte)8, (ushort)77, 20 + 8 + 56), (ping.Protocol, ping.IcmpType, ping.IcmpId, ping.IpLength));
        var pong6 = read.Frames[2].Decoded.Header;
        Assert.Equal((IpProtocol.IcmpV6, (byte)129, (ushort)99, 40 + 8 + 56), (pong6.Protocol, pong6.IcmpType, pong6.IcmpId, pong6.IpLength));
    }

    [Fact]
    public void Linux_cooked_and_both_loopback_link_types_decode_the_same_packet()
    {
        var ip = Syn()[14..];
        var sll = new byte[16 + ip.Length];
        BinaryPrimitives.WriteUInt16BigEndian(sll.AsSpan(14), 0x0800);
        ip.CopyTo(sll, 16);
        var sll2 = new byte[20 + ip.Length];
        BinaryPrimitives.WriteUInt16BigEndian(sll2, 0x0800);
        ip.CopyTo(sll2, 20);
        var nullLe = new byte[4 + ip.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(nullLe, 2);
        ip.CopyTo(nullLe, 4);
        var loop = new byte[4 + ip.Length];
        BinaryPrimitives.WriteUInt32BigEndian(loop, 2);
        ip.CopyTo(loop, 4);
        var file = new PcapNgBuilder(false).Section()
            .Interface(LinkTypes.LinuxSll).Interface(LinkTypes.LinuxSll2).Interface(LinkTypes.Null).Interface(LinkTypes.Loop).Interface(LinkTypes.IPv4)
            .Enhanced(0, 1, sll).Enhanced(1, 2, sll2).Enhanced(2, 3, nullLe).Enhanced(3, 4, loop).Enhanced(4, 5, ip)
            .Bytes();

        var read = ReadAll(file);

        Assert.Equal(5, read.Frames.Count);
        var expected = PacketHeader.Tcp(NetAddress.FromIPv4(Client), 40000, NetAddress.FromIPv4(Server), 443, TcpFlags.Syn, 40);
        Assert.All(read.Frames, f => Assert.Equal(expected, f.Decoded.Header));
    }

    [Fact]
    public void A_truncated_capture_delivers_every_frame_before_the_cut_and_says_where_it_was_cut()
    {
        var file = PcapBytes.File(false, false, LinkTypes.Ethernet, (T0Seconds, 0, Syn()), (T0Seconds, 1, SynAck()), (T0Seconds, 2, Syn()));
        var cut = file[..^10];

        var read = ReadAll(cut);

        Assert.Equal(2, read.Frames.Count);
        Assert.Equal(CaptureIssue.TruncatedCapture, read.Reader.Issue);
        Assert.Equal(24 + 2 * 16 + Syn().Length + SynAck().Length, read.Reader.IssueOffset);
        Assert.Contains("ends inside a pcap record", read.Reader.IssueDetail);
    }

    [Fact]
    public void A_truncated_pcapng_block_is_reported_after_the_blocks_before_it()
    {
        var file = new PcapNgBuilder(false).Section().Interface(LinkTypes.Ethernet).Enhanced(0, 1, Syn()).Enhanced(0, 2, Syn()).Bytes();

        var read = ReadAll(file[..^3]);

        Assert.Single(read.Frames);
        Assert.Equal(CaptureIssue.TruncatedCapture, read.Reader.Issue);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x7B, 0x22, 0x61, 0x22, 0x3A })] // {"a":
    [InlineData(new byte[] { 0xD4, 0xC3 })]
    public void A_file_that_is_not_a_capture_yields_nothing_and_says_so(byte[] file)
    {
        var read = ReadAll(file);

        Assert.Empty(read.Frames);
        Assert.Equal(CaptureIssue.NotACapture, read.Reader.Issue);
        Assert.NotEmpty(read.Reader.IssueDetail);
    }

    [Fact]
    public void A_corrupt_pcap_record_length_stops_reading_after_the_good_frames()
    {
        var file = PcapBytes.File(false, false, LinkTypes.Ethernet, (T0Seconds, 0, Syn()), (T0Seconds, 1, Syn()));
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(24 + 16 + Syn().Length + 8), 0x7FFFFFFF);

        var read = ReadAll(file);

        Assert.Single(read.Frames);
        Assert.Equal(CaptureIssue.CorruptRecord, read.Reader.Issue);
    }

    [Fact]
    public void Bad_frames_are_classified_by_kind_and_the_frames_around_them_still_decode()
    {
        var badIhl = Syn();
        badIhl[14] = 0x42; // IHL 2 words = 8 bytes
        var longIhl = Syn();
        longIhl[14] = 0x4F; // IHL 60 bytes, past the 40-byte packet
        var badOffset = Syn();
        badOffset[14 + 20 + 12] = 0xF0; // TCP data offset 60 bytes in a 20-byte segment
        var shortTcp = Syn()[..(14 + 20 + 10)];
        BinaryPrimitives.WriteUInt16BigEndian(shortTcp.AsSpan(16), 30);
        var arp = Syn();
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(12), 0x0806);
        var fragment = Syn();
        BinaryPrimitives.WriteUInt16BigEndian(fragment.AsSpan(14 + 6), 100); // fragment offset 800 bytes
        var file = new PcapNgBuilder(false).Section().Interface(LinkTypes.Ethernet).Interface(147 /* user-defined */)
            .Enhanced(0, 1, Syn())
            .Enhanced(0, 2, badIhl).Enhanced(0, 3, longIhl).Enhanced(0, 4, badOffset).Enhanced(0, 5, shortTcp)
            .Enhanced(1, 6, Syn()).Enhanced(7, 7, Syn()).Enhanced(0, 8, arp).Enhanced(0, 9, fragment).Enhanced(0, 10, Syn()[..20])
            .Enhanced(0, 11, SynAck())
            .Bytes();

        var read = ReadAll(file);

        Assert.Equal(CaptureIssue.None, read.Reader.Issue);
        Assert.Equal(
            [CaptureIssue.None, CaptureIssue.BadIpHeaderLength, CaptureIssue.BadIpHeaderLength, CaptureIssue.TcpHeaderPastFrame, CaptureIssue.TcpHeaderPastFrame,
             CaptureIssue.UnknownLinkType, CaptureIssue.UnknownLinkType, CaptureIssue.NotIp, CaptureIssue.IpFragment, CaptureIssue.TruncatedFrame, CaptureIssue.None],
            read.Frames.Select(f => f.Decoded.Issue));
    }

    [Fact]
    public void Pcap_writer_output_reads_back_frame_for_frame()
    {
        var stream = new MemoryStream();
        var frames = Enumerable.Range(0, 50).Select(i => FrameBuilder.EthernetIPv4(Client + (uint)i, Server, 17, FrameBuilder.Udp((ushort)(1000 + i), 53, i), i)).ToArray();
        using (var writer = new PcapWriter(new NonClosing(stream), nanoseconds: true))
        {
            for (var i = 0; i < frames.Length; i++)
                writer.Write(T0 + i * 1234, frames[i]);
        }

        var read = ReadAll(stream.ToArray());

        Assert.Equal(frames.Length, read.Frames.Count);
        for (var i = 0; i < frames.Length; i++)
        {
            Assert.Equal(frames[i], read.Frames[i].Frame.Data.ToArray());
            Assert.Equal(T0 + i * 1234, read.Frames[i].Frame.Timestamp);
            Assert.Equal(20 + 8 + i, read.Frames[i].Decoded.Header.IpLength);
        }
    }

    [Fact]
    public void Any_bytes_after_a_valid_header_never_throw_from_reader_or_decoder()
    {
        var header = PcapBytes.File(false, false, LinkTypes.Ethernet);
        var ngHeader = new PcapNgBuilder(false).Section().Interface(LinkTypes.Ethernet).Bytes();
        Gen.Select(Gen.Bool, Gen.Byte.Array[0, 400]).Sample((ng, tail) =>
        {
            var read = ReadAll([.. ng ? ngHeader : header, .. tail]);
            return read.Frames.Count >= 0;
        }, iter: 2000);
        // Frames that survive the container: random bytes as a frame body, every link type.
        Gen.Select(Gen.Int[0, 4].Select(i => new[] { LinkTypes.Ethernet, LinkTypes.Raw, LinkTypes.LinuxSll, LinkTypes.LinuxSll2, LinkTypes.Null }[i]), Gen.Byte.Array[0, 120]).Sample((link, body) =>
        {
            var decoded = PacketDecoder.Decode(new CaptureFrame(0, link, new ArraySegment<byte>(body), body.Length, 1, 0));
            return decoded.IsPacket || decoded.Issue != CaptureIssue.None;
        }, iter: 5000);
    }

    private sealed class NonClosing(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
