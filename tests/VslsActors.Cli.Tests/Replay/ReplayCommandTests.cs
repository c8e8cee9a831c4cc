using System.Text.Json;
using VslsActors.TestSupport;
using VslsActors.Traffic.Capture;

namespace VslsActors.Cli.Tests.Replay;

/// <summary><c>vsls replay</c> on captures written by the test: bad input, VS mapping, the table's content.</summary>
[Collection(ReplayTestCollection.Name)]
public sealed class ReplayCommandTests
{
    private const uint Client = 0x0A000001; // 10.0.0.1
    private const uint Server = 0xC0A8010A; // 192.168.1.10
    private static readonly long T0 = new DateTime(2025, 3, 1, 8, 0, 0, DateTimeKind.Utc).Ticks;

    private static byte[] Tcp(bool fromClient, ushort clientPort, byte flags, int payload = 0, int vlan = -1) => fromClient
        ? FrameBuilder.EthernetIPv4(Client, Server, 6, FrameBuilder.Tcp(clientPort, 443, flags), payload, vlan)
        : FrameBuilder.EthernetIPv4(Server, Client, 6, FrameBuilder.Tcp(443, clientPort, flags), payload, vlan);

    /// <summary>A complete handshake and one data segment each way on <paramref name="clientPort"/>.</summary>
    private static IEnumerable<byte[]> Connection(ushort clientPort, int vlan = -1) =>
    [
        Tcp(true, clientPort, 0x02, vlan: vlan), Tcp(false, clientPort, 0x12, vlan: vlan), Tcp(true, clientPort, 0x10, vlan: vlan),
        Tcp(true, clientPort, 0x18, 100, vlan), Tcp(false, clientPort, 0x18, 1000, vlan),
    ];

    private static byte[] Pcap(IEnumerable<byte[]> frames)
    {
        var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream))
        {
            var i = 0;
            foreach (var f in frames)
                writer.Write(T0 + i++ * TimeSpan.TicksPerMillisecond, f);
            return stream.ToArray(); // MemoryStream.ToArray works after the writer closed it
        }
    }

    private static async Task<(CliRun.Result Run, JsonElement? Report, string[] Table)> ReplayAsync(TempDirectory dir, byte[] capture, params string[] extra)
    {
        var file = dir.File("in.pcap");
        await File.WriteAllBytesAsync(file, capture);
        var table = dir.File("table.jsonl");
        var run = await CliRun.InProcessAsync(["replay", file, "--out", table, "--json", .. extra]);
        JsonElement? report = run.Output.Length > 0 ? JsonDocument.Parse(run.Output).RootElement.Clone() : null;
        return (run, report, File.Exists(table) ? await File.ReadAllLinesAsync(table) : []);
    }

    [Fact]
    public async Task A_clean_capture_gives_one_row_per_connection_with_capture_times_and_ip_bytes()
    {
        using var dir = new TempDirectory();
        var (run, report, table) = await ReplayAsync(dir, Pcap([.. Connection(40000), .. Connection(40001)]));

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(10, report!.Value.GetProperty("packets_sent").GetInt64());
        Assert.Equal(2, table.Length);
        using var row = JsonDocument.Parse(table[0]);
        var r = row.RootElement;
        Assert.Equal("10.0.0.1", r.GetProperty("orig_h").GetString());
        Assert.Equal(40000, r.GetProperty("orig_p").GetInt32());
        Assert.Equal(443, r.GetProperty("resp_p").GetInt32());
        Assert.Equal(3, r.GetProperty("orig_pkts").GetInt64());
        Assert.Equal(40 + 40 + 140, r.GetProperty("orig_bytes").GetInt64());
        Assert.Equal(2, r.GetProperty("resp_pkts").GetInt64());
        Assert.Equal(40 + 1040, r.GetProperty("resp_bytes").GetInt64());
        Assert.Equal("tcp-established", r.GetProperty("state").GetString());
        // Shifted onto the wall clock for the VS, shifted back for the table: the capture's own times.
        Assert.Equal(ConnectionTableJsonTime(T0), r.GetProperty("first_seen").GetString());
        Assert.Equal(ConnectionTableJsonTime(T0 + 4 * TimeSpan.TicksPerMillisecond), r.GetProperty("last_seen").GetString());
    }

    private static string ConnectionTableJsonTime(long ticks) => VslsActors.Cluster.Export.ConnectionTableJson.FormatTime(ticks);

    [Fact]
    public async Task A_truncated_capture_keeps_every_connection_before_the_cut_and_exits_2_saying_where()
    {
        using var dir = new TempDirectory();
        var whole = Pcap([.. Connection(40000), .. Connection(40001)]);
        var (run, report, table) = await ReplayAsync(dir, whole[..^30]);

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("vsls: replay: ", line);
        Assert.Contains("truncated-capture", line);
        Assert.Equal(9, report!.Value.GetProperty("packets_sent").GetInt64());
        Assert.Equal("truncated-capture", report.Value.GetProperty("capture_problem").GetProperty("kind").GetString());
        Assert.Equal(2, table.Length);
        Assert.Contains("\"orig_pkts\":3", table[0]);
    }

    [Fact]
    public async Task Bad_packets_are_counted_by_kind_and_the_packets_around_them_are_replayed()
    {
        using var dir = new TempDirectory();
        var badIhl = Tcp(true, 40002, 0x02);
        badIhl[14] = 0x43;
        var badTcp = Tcp(true, 40003, 0x02);
        badTcp[14 + 20 + 12] = 0xF0;
        var (run, report, table) = await ReplayAsync(dir, Pcap([.. Connection(40000), badIhl, badTcp, badIhl, .. Connection(40001)]));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("3 bad frames skipped (2 bad-ip-header-length, 1 tcp-header-past-frame), the first is frame 6", Assert.Single(run.ErrorLines));
        var bad = report!.Value.GetProperty("bad");
        Assert.Equal(2, bad.GetProperty("bad-ip-header-length").GetProperty("count").GetInt64());
        Assert.Equal(1, bad.GetProperty("tcp-header-past-frame").GetProperty("count").GetInt64());
        Assert.Equal(10, report.Value.GetProperty("packets_sent").GetInt64());
        Assert.Equal(2, table.Length);
    }

    [Fact]
    public async Task Over_limit_is_reported_by_kind_in_the_json_and_the_text_report()
    {
        using var dir = new TempDirectory();
        var topology = dir.File("one-vs.conf");
        await File.WriteAllTextAsync(topology, """
            vsls {
              members = [replay]
              virtual-systems = [
                { id = 1, name = tiny, priority = [replay], max-connections = 1,
                  policy { rules = [ { name = all, source = any, service = any, action = accept } ] } }
              ]
            }
            """);
        // The first connection takes the only place in the table; the other two SYNs are over the
        // connection limit (kind connections), and their later packets are out of state.
        var capture = Pcap([.. Connection(40000), .. Connection(40001), .. Connection(40002)]);

        var (run, report, table) = await ReplayAsync(dir, capture, "--topology", topology);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Single(table);
        var vs = Assert.Single(report!.Value.GetProperty("virtual_systems").EnumerateArray());
        Assert.Equal(2, vs.GetProperty("over_limit").GetInt64());
        Assert.Equal(2, vs.GetProperty("over_limit_connections").GetInt64());
        Assert.Equal(0, vs.GetProperty("over_limit_packet_rate").GetInt64());
        Assert.Equal(0, vs.GetProperty("over_limit_new_connection_rate").GetInt64());
        Assert.Equal(0, vs.GetProperty("over_limit_overload").GetInt64());

        var text = await CliRun.InProcessAsync(["replay", dir.File("in.pcap"), "--topology", topology]);
        Assert.True(text.ExitCode == 0, text.Error);
        Assert.Contains("over-limit 2 (connections 2, packets/s 0, new-connections/s 0, overload 0)", text.Output);
    }

    [Fact]
    public async Task A_file_that_is_not_a_capture_is_one_line_and_exit_2()
    {
        using var dir = new TempDirectory();
        var (run, _, table) = await ReplayAsync(dir, "{\"not\": \"a capture\"}"u8.ToArray());

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Matches("^vsls: .*in.pcap: not a pcap or pcapng capture", line);
        Assert.Empty(table);
    }

    [Fact]
    public async Task Vlan_mapping_sends_each_tagged_packet_to_its_topology_vs_and_counts_the_rest_as_unknown()
    {
        using var dir = new TempDirectory();
        var topology = CliRun.SampleTopologyFile(); // VS 1 has VLAN 101, VS 2 VLAN 102
        var (run, report, _) = await ReplayAsync(dir, Pcap([.. Connection(40000, vlan: 101), .. Connection(40001, vlan: 102), .. Connection(40002, vlan: 999)]),
            "--vs-by", "vlan", "--topology", topology);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(5, report!.Value.GetProperty("unknown_vs").GetInt64());
        var vss = report.Value.GetProperty("virtual_systems").EnumerateArray().ToDictionary(v => v.GetProperty("vs").GetInt32());
        static long Total(JsonElement v) => new[] { "accepted", "policy_drop", "reject", "out_of_state", "over_limit" }.Sum(k => v.GetProperty(k).GetInt64());
        Assert.Equal(5, Total(vss[1]));
        Assert.Equal(5, Total(vss[2]));
        Assert.Equal(10, vss.Values.Sum(Total));
    }

    [Theory]
    [InlineData("--target", "10.0.0.1:5000")]
    [InlineData("--vs-by", "subnet")]
    [InlineData("--speed", "fast")]
    public async Task Options_that_cannot_work_are_refused_with_one_line_and_exit_2(string option, string value)
    {
        using var dir = new TempDirectory();
        var file = dir.File("in.pcap");
        await File.WriteAllBytesAsync(file, Pcap(Connection(40000)));

        var run = await CliRun.InProcessAsync("replay", file, option, value);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("vsls: ", run.ErrorLines[0]);
        Assert.Contains(option, run.ErrorLines[0]);
    }
}
