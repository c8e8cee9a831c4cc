using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using VslsActors.TestSupport;

namespace VslsActors.Cli.Tests.Replay;

/// <summary>
/// <c>vsls replay</c> checked against an independent tool: real traffic captured on the loopback
/// interface by tshark (an HTTP server and client, UDP request/reply exchanges, connections refused
/// by a closed port), replayed by the built <c>vsls</c> as its own process, and its connection table
/// compared with what tshark computes from the same file.
/// </summary>
[Collection(ReplayTestCollection.Name)]
public sealed partial class ReplayAgainstTsharkTests
{
    private sealed record Row(string Proto, string OrigH, int OrigP, string RespH, int RespP, long OrigPkts, long OrigBytes, long RespPkts, long RespBytes, string State, string Verdict);

    /// <summary>One conversation as tshark's conv table shows it (A → B frames, B → A frames).</summary>
    private sealed record Conversation(string Proto, string A, string B, long FramesAtoB, long FramesBtoA);

    [Fact]
    public async Task Replayed_loopback_capture_has_the_conversations_packet_counts_and_ip_bytes_tshark_finds()
    {
        using var dir = new TempDirectory();
        var capture = Path.Combine(dir.Path, "loopback.pcapng");

        // Ports of this test only, so that no other loopback traffic is captured.
        using var http = new TcpListener(IPAddress.Loopback, 0);
        http.Start();
        var httpPort = ((IPEndPoint)http.LocalEndpoint).Port;
        using var udpServer = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var udpPort = ((IPEndPoint)udpServer.Client.LocalEndPoint!).Port;
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }

        using (var tshark = new Tshark.Capture(capture, $"tcp port {httpPort} or udp port {udpPort} or tcp port {closedPort}"))
        {
            await tshark.StartedAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var server = ServeHttpAsync(http, cts.Token);
            var echo = EchoUdpAsync(udpServer, cts.Token);

            using (var client = new HttpClient())
            {
                client.DefaultRequestHeaders.ConnectionClose = true; // one connection per request
                foreach (var size in new[] { 100, 20_000, 3_000 })
                    Assert.Equal(size, (await client.GetByteArrayAsync($"http://127.0.0.1:{httpPort}/{size}", cts.Token)).Length);
            }
            for (var c = 0; c < 2; c++)
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
                for (var i = 0; i < 3; i++)
                {
                    await udp.SendAsync(new byte[10 + 7 * i + c], new IPEndPoint(IPAddress.Loopback, udpPort), cts.Token);
                    await udp.ReceiveAsync(cts.Token);
                }
            }
            for (var i = 0; i < 2; i++)
            {
                using var refused = new TcpClient();
                var e = await Assert.ThrowsAsync<SocketException>(() => refused.ConnectAsync(IPAddress.Loopback, closedPort, cts.Token).AsTask());
                Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
            }

            await tshark.StopAsync();
            await cts.CancelAsync();
            await Task.WhenAll(server, echo).ContinueWith(_ => { });
        }

        var outFile = Path.Combine(dir.Path, "table.jsonl");
        var run = await CliRun.ProcessAsync("replay", capture, "--embedded", "--vs-by", "single", "--out", outFile, "--json");
        Assert.True(run.ExitCode == 0, $"vsls replay exited {run.ExitCode}: {run.Error}");
        using var report = JsonDocument.Parse(run.Output);
        var rows = File.ReadAllLines(outFile).Select(ParseRow).ToList();

        // What tshark sees in the same file.
        var conversations = Conversations(Tshark.Read("-r", capture, "-q", "-z", "conv,tcp", "-z", "conv,udp"));
        var bytes = IpBytesPerDirection(Tshark.Read("-r", capture, "-T", "fields", "-E", "separator=,",
            "-e", "ip.src", "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "udp.dstport", "-e", "ip.len"));

        // The traffic that was made is there: 3 HTTP connections, 2 UDP flows, 2 refused connections.
        Assert.Equal(3, conversations.Count(c => c.Proto == "tcp" && (c.A.EndsWith($":{httpPort}", StringComparison.Ordinal) || c.B.EndsWith($":{httpPort}", StringComparison.Ordinal))));
        Assert.Equal(2, conversations.Count(c => c.Proto == "udp"));
        Assert.Equal(2, conversations.Count(c => c.Proto == "tcp" && (c.A.EndsWith($":{closedPort}", StringComparison.Ordinal) || c.B.EndsWith($":{closedPort}", StringComparison.Ordinal))));
        Assert.Empty(report.RootElement.GetProperty("bad").EnumerateObject());
        Assert.Equal(report.RootElement.GetProperty("frames_read").GetInt64(), report.RootElement.GetProperty("packets_sent").GetInt64());

        // Same conversations (endpoint pairs), no more, no fewer.
        static string Pair(string proto, string x, string y) => string.CompareOrdinal(x, y) < 0 ? $"{proto} {x} {y}" : $"{proto} {y} {x}";
        Assert.Equal(
            conversations.Select(c => Pair(c.Proto, c.A, c.B)).Order().ToList(),
            rows.Select(r => Pair(r.Proto, $"{r.OrigH}:{r.OrigP}", $"{r.RespH}:{r.RespP}")).Order().ToList());

        foreach (var row in rows)
        {
            var orig = $"{row.OrigH}:{row.OrigP}";
            var resp = $"{row.RespH}:{row.RespP}";
            var c = conversations.Single(c => Pair(c.Proto, c.A, c.B) == Pair(row.Proto, orig, resp));
            var (origFrames, respFrames) = c.A == orig ? (c.FramesAtoB, c.FramesBtoA) : (c.FramesBtoA, c.FramesAtoB);
            Assert.True(origFrames == row.OrigPkts && respFrames == row.RespPkts,
                $"{row.Proto} {orig} -> {resp}: vsls counted {row.OrigPkts}/{row.RespPkts} packets, tshark {origFrames}/{respFrames}");
            var origBytes = bytes.GetValueOrDefault($"{row.Proto} {orig} {resp}");
            var respBytes = bytes.GetValueOrDefault($"{row.Proto} {resp} {orig}");
            Assert.True(origBytes == row.OrigBytes && respBytes == row.RespBytes,
                $"{row.Proto} {orig} -> {resp}: vsls counted {row.OrigBytes}/{row.RespBytes} IP bytes, tshark's ip.len sums {origBytes}/{respBytes}");
            Assert.Equal("accept", row.Verdict);
            // The originator is the side that opened: the client, never the server's port.
            Assert.NotEqual(httpPort, row.OrigP);
            Assert.NotEqual(udpPort, row.OrigP);
            Assert.NotEqual(closedPort, row.OrigP);
        }
        Assert.All(rows.Where(r => r.RespP == closedPort), r => Assert.Equal("tcp-reset", r.State));
    }

    private static Row ParseRow(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var e = doc.RootElement;
        return new Row(e.GetProperty("proto").GetString()!, e.GetProperty("orig_h").GetString()!, e.GetProperty("orig_p").GetInt32(),
            e.GetProperty("resp_h").GetString()!, e.GetProperty("resp_p").GetInt32(), e.GetProperty("orig_pkts").GetInt64(), e.GetProperty("orig_bytes").GetInt64(),
            e.GetProperty("resp_pkts").GetInt64(), e.GetProperty("resp_bytes").GetInt64(), e.GetProperty("state").GetString()!, e.GetProperty("verdict").GetString()!);
    }

    // "127.0.0.1:42030  <-> 127.0.0.1:18080   7 63 kB   7 549 bytes   14 63 kB ..." — frames B→A first
    // ("<-"), then A→B ("->"). Byte columns carry a unit in tshark 4 and none in older versions.
    [GeneratedRegex(@"^(?<a>\S+)\s+<->\s+(?<b>\S+)\s+(?<ba>\d+)\s+[\d.,]+(?:\s+[A-Za-z]+)?\s+(?<ab>\d+)\s+[\d.,]+(?:\s+[A-Za-z]+)?\s+\d+")]
    private static partial Regex ConversationLine();

    private static List<Conversation> Conversations(string text)
    {
        var list = new List<Conversation>();
        string? proto = null;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("TCP Conversations", StringComparison.Ordinal))
                proto = "tcp";
            else if (line.StartsWith("UDP Conversations", StringComparison.Ordinal))
                proto = "udp";
            else if (proto is not null && ConversationLine().Match(line) is { Success: true } m)
            {
                list.Add(new Conversation(proto, m.Groups["a"].Value, m.Groups["b"].Value,
                    long.Parse(m.Groups["ab"].Value, CultureInfo.InvariantCulture), long.Parse(m.Groups["ba"].Value, CultureInfo.InvariantCulture)));
            }
        }
        return list;
    }

    /// <summary>Sums of ip.len per "proto src dst" (src and dst as address:port).</summary>
    private static Dictionary<string, long> IpBytesPerDirection(string fields)
    {
        var sums = new Dictionary<string, long>();
        foreach (var line in fields.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(',');
            var (proto, sport, dport) = f[1].Length > 0 ? ("tcp", f[1], f[4]) : ("udp", f[2], f[5]);
            var key = $"{proto} {f[0]}:{sport} {f[3]}:{dport}";
            sums[key] = sums.GetValueOrDefault(key) + long.Parse(f[6], CultureInfo.InvariantCulture);
        }
        return sums;
    }

    /// <summary>A minimal HTTP/1.1 server: GET /N answers N bytes and closes the connection.</summary>
    private static async Task ServeHttpAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            using var client = await listener.AcceptTcpClientAsync(cancellationToken);
            var stream = client.GetStream();
            var request = new StringBuilder();
            var buffer = new byte[4096];
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer, cancellationToken);
                if (n == 0)
                    break;
                request.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            var path = request.ToString().Split(' ')[1];
            var size = int.Parse(path.TrimStart('/'), CultureInfo.InvariantCulture);
            var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(head, cancellationToken);
            await stream.WriteAsync(new byte[size], cancellationToken);
            client.Client.Shutdown(SocketShutdown.Send);
            // Wait for the client's close so that the server never ends with a reset.
            while (await stream.ReadAsync(buffer, cancellationToken) > 0)
            {
            }
        }
    }

    private static async Task EchoUdpAsync(UdpClient server, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var r = await server.ReceiveAsync(cancellationToken);
            await server.SendAsync(r.Buffer.AsMemory(), r.RemoteEndPoint, cancellationToken);
        }
    }
}
