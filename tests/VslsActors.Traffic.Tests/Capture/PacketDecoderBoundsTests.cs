using VslsActors.Traffic.Capture;

namespace VslsActors.Traffic.Tests.Capture;

/// <summary>The decoder judges a frame by its own bytes only, and no header makes PacketDotNet loop.</summary>
public sealed class PacketDecoderBoundsTests
{
    private static byte[] Syn() => FrameBuilder.EthernetIPv4(0x0A000001, 0xC0A8010A, 6, FrameBuilder.Tcp(40000, 443, 0x02));

    private static DecodedFrame DecodeWithin(byte[] frame, byte fill)
    {
        // The frame sits in a larger buffer, as in the reader's, followed by other bytes.
        var buffer = new byte[frame.Length + 200];
        Array.Fill(buffer, fill);
        frame.CopyTo(buffer, 50);
        return PacketDecoder.Decode(new CaptureFrame(0, LinkTypes.Ethernet, new ArraySegment<byte>(buffer, 50, frame.Length), frame.Length, 1, 50));
    }

    [Theory]
    [InlineData(0x00)]
    [InlineData(0x45)]
    [InlineData(0x40)]
    [InlineData(0xFF)]
    public void A_cut_short_frame_gets_the_same_verdict_whatever_follows_it_in_the_buffer(byte fill)
    {
        var verdicts = Enumerable.Range(14, 40).Select(cut => DecodeWithin(Syn()[..cut], fill).Issue).ToList();

        Assert.Equal(Enumerable.Repeat(CaptureIssue.TruncatedFrame, 20), verdicts.Take(20)); // IP header incomplete
        Assert.Equal(Enumerable.Repeat(CaptureIssue.TcpHeaderPastFrame, 20), verdicts.Skip(20)); // TCP header incomplete
    }

    [Fact]
    public void An_ipv4_header_length_of_zero_carrying_ip_in_ip_is_a_bad_header_not_a_stack_overflow()
    {
        var frame = Syn();
        frame[14] = 0x40; // version 4, IHL 0: the "inner" packet would start where this one does
        frame[14 + 9] = 4; // protocol 4, IPv4 in IPv4

        Assert.Equal(CaptureIssue.BadIpHeaderLength, DecodeWithin(frame, 0x40).Issue);
    }
}
