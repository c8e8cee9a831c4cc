using CsCheck;
using VslsActors.Traffic.Capture;

namespace VslsActors.Traffic.Tests.Capture;

public sealed class ParallelCaptureDecoderTests
{
    private static readonly long T0 = new DateTime(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc).Ticks;

    /// <summary>
    /// A capture of <paramref name="count"/> frames of every kind the decoder tells apart (TCP with
    /// each port and flag combination, UDP, IPv6, ICMP, bad IHL, cut-short, ARP), of uneven sizes,
    /// so that chunks end at varying frame counts and byte fills.
    /// </summary>
    private static byte[] MixedCapture(int seed, int count, params int[] jumboAt)
    {
        var random = new Random(seed);
        var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, snapLength: 4 << 20))
        {
            for (var i = 0; i < count; i++)
            {
                var client = 0x0A000000u + (uint)random.Next(1, 50);
                var port = (ushort)random.Next(1024, 65535);
                byte[] frame;
                if (Array.IndexOf(jumboAt, i) >= 0)
                {
                    // Larger than a chunk's 1 MiB buffer: the chunk has to grow for it.
                    frame = FrameBuilder.EthernetIPv4(client, 0xC0A8010A, 6, FrameBuilder.Tcp(port, 443, 0x18), (1 << 20) + 1000);
                }
                else
                {
                    frame = random.Next(10) switch
                    {
                        0 => FrameBuilder.EthernetIPv4(client, 0xC0A8010A, 17, FrameBuilder.Udp(port, 53, 30), 30, vlan: random.Next(1, 4095)),
                        1 => FrameBuilder.EthernetIPv6(client, 0x2001_0db8u, 6, FrameBuilder.Tcp(port, 80, (byte)random.Next(64))),
                        2 => FrameBuilder.EthernetIPv4(client, 0xC0A8010A, 1, FrameBuilder.IcmpEcho(8, port, 1)),
                        3 => BadIhl(FrameBuilder.EthernetIPv4(client, 0xC0A8010A, 6, FrameBuilder.Tcp(port, 443, 0x02))),
                        4 => FrameBuilder.EthernetIPv4(client, 0xC0A8010A, 6, FrameBuilder.Tcp(port, 443, 0x02))[..random.Next(1, 40)],
                        _ => FrameBuilder.EthernetIPv4(client, 0xC0A8010A, 6, FrameBuilder.Tcp(port, 443, (byte)random.Next(64)), random.Next(0, 1500)),
                    };
                }
                writer.Write(T0 + i * 10L, frame);
            }
            return stream.ToArray();
        }
    }

    private static byte[] BadIhl(byte[] frame)
    {
        frame[14] = 0x42; // IHL of 8 bytes
        return frame;
    }

    /// <summary>What reading and decoding frame by frame on one thread gives: the reference.</summary>
    private static List<DecodedCaptureFrame> Sequential(byte[] file)
    {
        using var reader = CaptureReader.Open(new MemoryStream(file), "test.pcap");
        var frames = new List<DecodedCaptureFrame>();
        while (reader.TryRead(out var frame))
            frames.Add(new DecodedCaptureFrame(frame.Timestamp, frame.Number, frame.Offset, PacketDecoder.Decode(frame)));
        return frames;
    }

    private static async Task<(List<DecodedCaptureFrame> Frames, CaptureReader Reader)> Parallel(Stream stream, int workers)
    {
        var reader = CaptureReader.Open(stream, "test.pcap");
        var frames = new List<DecodedCaptureFrame>();
        using (var decoder = new ParallelCaptureDecoder(reader, workers))
        {
            while (await decoder.ReadAsync(CancellationToken.None) is { } chunk)
            {
                Assert.InRange(chunk.Count, 1, ParallelCaptureDecoder.FramesPerChunk);
                for (var i = 0; i < chunk.Count; i++)
                    frames.Add(chunk[i]);
            }
            // After the end it stays at the end.
            Assert.Null(await decoder.ReadAsync(CancellationToken.None));
        }
        return (frames, reader);
    }

    [Fact]
    public void Any_capture_decodes_to_the_same_frames_in_the_same_order_on_any_number_of_workers()
    {
        Gen.Select(Gen.Int, Gen.Int[0, 5000], Gen.Int[0, 4]).Sample((seed, count, workers) =>
        {
            var file = MixedCapture(seed, count);
            var expected = Sequential(file);

            var (frames, reader) = Parallel(new MemoryStream(file), workers).GetAwaiter().GetResult();

            Assert.Equal(count, expected.Count);
            Assert.Equal(expected, frames);
            Assert.Equal(CaptureIssue.None, reader.Issue);
        }, iter: 25);
    }

    [Fact]
    public async Task A_frame_larger_than_a_chunk_is_decoded_in_its_place()
    {
        var file = MixedCapture(7, 3000, 0, 1500, 1501, 2999);
        var expected = Sequential(file);

        var (frames, _) = await Parallel(new MemoryStream(file), 2);

        Assert.Equal(expected, frames);
        Assert.Equal(CaptureIssue.None, expected[1500].Decoded.Issue);
        // The 16-bit total length wraps (1,049,616 → 1,040): the frame still decodes, as the sequential path has it.
        Assert.Equal(1040, expected[1500].Decoded.Header.IpLength);
    }

    [Fact]
    public async Task A_truncated_capture_delivers_every_frame_before_the_cut_then_the_reader_says_why()
    {
        var file = MixedCapture(11, 4000);
        var cut = file[..^7];
        var expected = Sequential(cut);

        var (frames, reader) = await Parallel(new MemoryStream(cut), 3);

        Assert.Equal(3999, frames.Count);
        Assert.Equal(expected, frames);
        Assert.Equal(CaptureIssue.TruncatedCapture, reader.Issue);
    }

    [Fact]
    public async Task An_io_error_reaches_the_consumer_after_the_frames_before_it()
    {
        var file = MixedCapture(13, 5000);
        var stream = new FailingStream(file, failAfter: file.Length / 2);
        var delivered = 0L;
        var lastNumber = 0L;

        var thrown = await Assert.ThrowsAsync<IOException>(async () =>
        {
            using var reader = CaptureReader.Open(stream, "test.pcap");
            using var decoder = new ParallelCaptureDecoder(reader, 2);
            while (await decoder.ReadAsync(CancellationToken.None) is { } chunk)
            {
                for (var i = 0; i < chunk.Count; i++)
                {
                    Assert.Equal(lastNumber + 1, chunk[i].Number);
                    lastNumber = chunk[i].Number;
                    delivered++;
                }
            }
        });

        Assert.Equal("disk gone", thrown.Message);
        Assert.InRange(delivered, 1, 4999);
    }

    [Fact]
    public async Task A_consumer_that_stops_taking_chunks_stops_the_reader_after_the_pool_is_full()
    {
        var file = MixedCapture(17, 20_000);
        using var reader = CaptureReader.Open(new MemoryStream(file), "test.pcap");
        using var decoder = new ParallelCaptureDecoder(reader, 1);

        var first = await decoder.ReadAsync(CancellationToken.None);
        // Whatever the threads' speed, the reader cannot get further than the pool's 4 chunks of 1,024
        // frames (the consumer holds one of them) plus the one frame it read and could not place.
        var bound = 4 * ParallelCaptureDecoder.FramesPerChunk + 1;
        for (var i = 0; i < 20; i++)
        {
            await Task.Delay(10);
            Assert.InRange(reader.FramesRead, 1, bound);
        }
        Assert.NotNull(first);
    }

    /// <summary>A stream whose reads fail once <c>failAfter</c> bytes have been read.</summary>
    private sealed class FailingStream(byte[] bytes, int failAfter) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (Position >= failAfter)
                throw new IOException("disk gone");
            return base.Read(buffer, offset, (int)Math.Min(count, failAfter - Position));
        }

        public override int Read(Span<byte> buffer)
        {
            if (Position >= failAfter)
                throw new IOException("disk gone");
            return base.Read(buffer[..(int)Math.Min(buffer.Length, failAfter - Position)]);
        }
    }
}
