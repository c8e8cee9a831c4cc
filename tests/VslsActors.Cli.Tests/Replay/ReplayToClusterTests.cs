using VslsActors.Cli.Demo;
using VslsActors.TestSupport;
using VslsActors.Traffic.Capture;
using VslsActors.Node;

namespace VslsActors.Cli.Tests.Replay;

/// <summary><c>vsls replay --target</c>: the same capture through a real member's ingress gives the same table as the embedded member.</summary>
[Collection(ReplayTestCollection.Name)]
public sealed class ReplayToClusterTests
{
    private const uint Client = 0x0A000001; // 10.0.0.1
    private const uint Server = 0xC0A8010A; // 192.168.1.10
    private static readonly long T0 = new DateTime(2025, 3, 1, 8, 0, 0, DateTimeKind.Utc).Ticks;

    private const string Topology = """
        vsls {
          members = [member-1]
          virtual-systems = [
            { id = 1, name = all, priority = [member-1], policy { rules = [ { name = all, action = accept, sync = immediate } ] } }
          ]
        }
        """;

    private static byte[] Capture()
    {
        static byte[] Tcp(bool fromClient, ushort clientPort, byte flags, int payload = 0) => fromClient
            ? FrameBuilder.EthernetIPv4(Client, Server, 6, FrameBuilder.Tcp(clientPort, 443, flags), payload)
            : FrameBuilder.EthernetIPv4(Server, Client, 6, FrameBuilder.Tcp(443, clientPort, flags), payload);
        var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream))
        {
            var i = 0;
            for (ushort port = 40000; port < 40020; port++)
            {
                foreach (var frame in new[] { Tcp(true, port, 0x02), Tcp(false, port, 0x12), Tcp(true, port, 0x10), Tcp(true, port, 0x18, 100 + port % 7), Tcp(false, port, 0x18, 1000), Tcp(true, port, 0x11), Tcp(false, port, 0x11), Tcp(true, port, 0x10) })
                    writer.Write(T0 + i++ * TimeSpan.TicksPerMillisecond, frame);
            }
        }
        return stream.ToArray();
    }

    [Fact]
    public async Task Replay_to_a_running_member_gives_the_table_the_embedded_member_gives()
    {
        using var temp = new TempDirectory();
        var topology = temp.File("topology.conf");
        await File.WriteAllTextAsync(topology, Topology);
        var capture = temp.File("in.pcap");
        await File.WriteAllBytesAsync(capture, Capture());

        var embeddedTable = temp.File("embedded.jsonl");
        var embedded = await CliRun.InProcessAsync("replay", capture, "--vs-by", "single", "--topology", topology, "--out", embeddedTable, "--json");
        Assert.True(embedded.ExitCode == 0, embedded.Error);

        var ports = LocalPorts.Free(2);
        var ingress = $"127.0.0.1:{ports[1]}";
        var log = temp.File("member-1.log");
        var member = MemberProcess.Start(SelfCommand.Resolve(), "member-1", ports[0],
            ["--member", "member-1", "--port", ports[0].ToString(), "--db", temp.File("vsls.db"), "--topology", topology, "--ingress", ingress], log);
        try
        {
            await CliRun.WaitForLogLineAsync(log, $"ingress: gRPC on http://{ingress}", TimeSpan.FromSeconds(60));
            var clusterTable = temp.File("cluster.jsonl");
            var replay = await CliRun.ProcessAsync("replay", capture, "--vs-by", "single", "--topology", topology, "--target", ingress, "--out", clusterTable, "--json");
            Assert.True(replay.ExitCode == 0, replay.Error + File.ReadAllText(log));

            var expected = (await File.ReadAllLinesAsync(embeddedTable)).Order().ToArray();
            var actual = (await File.ReadAllLinesAsync(clusterTable)).Order().ToArray();
            Assert.Equal(20, expected.Length);
            Assert.Equal(expected, actual);
        }
        finally
        {
            member.Kill();
        }
    }

    [Fact]
    public async Task Replay_to_a_target_nobody_listens_on_is_one_line_and_a_non_zero_exit()
    {
        using var temp = new TempDirectory();
        var capture = temp.File("in.pcap");
        await File.WriteAllBytesAsync(capture, Capture());
        var port = LocalPorts.Free(1)[0];

        var run = await CliRun.InProcessAsync("replay", capture, "--target", $"127.0.0.1:{port}");

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith($"vsls: --target: no ingress target answers (127.0.0.1:{port})", line);
    }
}
