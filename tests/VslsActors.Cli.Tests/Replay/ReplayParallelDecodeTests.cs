using System.Text.Json;
using VslsActors.Cli.Replay;
using VslsActors.TestSupport;
using VslsActors.Traffic.Capture;

namespace VslsActors.Cli.Tests.Replay;

/// <summary>
/// Decoding on several threads must not change what the VS sees: the packets of a connection
/// reach it in capture order (a SYN-ACK before its SYN would be out of state), so the table is
/// the one the single-threaded path gives.
/// </summary>
[Collection(ReplayTestCollection.Name)]
public sealed class ReplayParallelDecodeTests
{
    private const int Connections = 3000;
    private const uint Server = 0xC0A8010A; // 192.168.1.10
    private static readonly long T0 = new DateTime(2025, 3, 1, 8, 0, 0, DateTimeKind.Utc).Ticks;

    /// <summary>
    /// Every connection's 8 packets (handshake, data both ways, FIN, FIN, ACK), round robin over all
    /// connections: a connection's consecutive packets are 3,000 frames apart, so each lands in
    /// another decode chunk, most likely on another worker.
    /// </summary>
    private static byte[] Interleaved()
    {
        var stream = new MemoryStream();
        using var writer = new PcapWriter(stream);
        var n = 0;
        for (var step = 0; step < 8; step++)
        {
            for (var c = 0; c < Connections; c++)
            {
                var client = 0x0A000000u + (uint)(c / 1000) + 1;
                var port = (ushort)(20000 + c % 1000);
                var frame = step switch
                {
                    0 => FrameBuilder.EthernetIPv4(client, Server, 6, FrameBuilder.Tcp(port, 443, 0x02)),
                    1 => FrameBuilder.EthernetIPv4(Server, client, 6, FrameBuilder.Tcp(443, port, 0x12)),
                    2 => FrameBuilder.EthernetIPv4(client, Server, 6, FrameBuilder.Tcp(port, 443, 0x10)),
                    3 => FrameBuilder.EthernetIPv4(client, Server, 6, FrameBuilder.Tcp(port, 443, 0x18), 100),
                    4 => FrameBuilder.EthernetIPv4(Server, client, 6, FrameBuilder.Tcp(443, port, 0x18), 1000),
                    5 => FrameBuilder.EthernetIPv4(client, Server, 6, FrameBuilder.Tcp(port, 443, 0x11)),
                    6 => FrameBuilder.EthernetIPv4(Server, client, 6, FrameBuilder.Tcp(443, port, 0x11)),
                    _ => FrameBuilder.EthernetIPv4(client, Server, 6, FrameBuilder.Tcp(port, 443, 0x10)),
                };
                writer.Write(T0 + n++ * 10L, frame);
            }
        }
        writer.Dispose();
        return stream.ToArray();
    }

    private static async Task<(JsonElement Report, string[] Table)> ReplayAsync(string file, string table, int workers)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var options = new ReplayOptions { File = file, Out = table, Json = true, DecodeWorkers = workers };
        var code = await ReplayRunner.RunAsync(options, new EmbeddedReplaySink(), output, error, CancellationToken.None);
        Assert.True(code == 0, error.ToString());
        return (JsonDocument.Parse(output.ToString()).RootElement.Clone(), await File.ReadAllLinesAsync(table));
    }

    [Fact]
    public async Task Parallel_decoding_hands_every_connection_its_packets_in_capture_order_and_gives_the_sequential_table()
    {
        using var dir = new TempDirectory();
        var file = dir.File("interleaved.pcap");
        await File.WriteAllBytesAsync(file, Interleaved());

        var (parallel, parallelTable) = await ReplayAsync(file, dir.File("parallel.jsonl"), workers: 4);
        var (_, sequentialTable) = await ReplayAsync(file, dir.File("sequential.jsonl"), workers: 0);

        var vs = parallel.GetProperty("virtual_systems")[0];
        Assert.Equal(8 * Connections, vs.GetProperty("accepted").GetInt64());
        Assert.Equal(0, vs.GetProperty("out_of_state").GetInt64());
        Assert.Equal(Connections, parallelTable.Length);
        Assert.All(parallelTable, line =>
        {
            var row = JsonDocument.Parse(line).RootElement;
            Assert.Equal(5, row.GetProperty("orig_pkts").GetInt64());
            Assert.Equal(3, row.GetProperty("resp_pkts").GetInt64());
        });
        Assert.Equal(sequentialTable, parallelTable);
    }
}
