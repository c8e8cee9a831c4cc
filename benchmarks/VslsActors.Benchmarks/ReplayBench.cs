using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using VslsActors.Cli.Replay;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Traffic.Capture;

namespace VslsActors.Benchmarks;

/// <summary>
/// <c>vsls replay --embedded</c> of a generated capture (written as pcap by this benchmark: TCP
/// connections with handshake, data both ways and FIN close, interleaved), beside baselines measured in
/// the same run over the same file: reading the container only, reading + PacketDotNet decoding (on one
/// thread, and on one per core through <see cref="ParallelCaptureDecoder"/>), the replay decoding on its own
/// thread (the path before parallel decoding), and
/// reading + decoding + a single-threaded <c>Dictionary&lt;FlowKey, ConnectionState&gt;</c> conntrack.
/// Run with <c>dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- replay-bench [packets] [connections] [burst]</c>.
/// </summary>
internal static class ReplayBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        // `replay-bench write FILE [packets] [connections] [burst]` only writes the capture: to profile
        // `vsls replay` itself (e.g. under dotnet-trace) on the same traffic the benchmark measures.
        if (args.Length > 1 && args[0] == "write")
        {
            var count = Generate(args[1], args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2_000_000,
                args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 10_000, args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 8);
            Console.WriteLine($"wrote {count:N0} packets to {args[1]}");
            return 0;
        }
        var packets = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2_000_000;
        var connections = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 10_000;
        // Packets a connection sends in a row before the next connection's turn: 1 interleaves the ~1,000
        // open connections packet by packet (every packet of a 256-packet batch is another connection's,
        // the VS's worst case); 8 is closer to TCP windows in a real capture.
        var burst = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 8;
        Console.WriteLine($"replay-bench: {Environment.ProcessorCount} cores, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, server GC = {System.Runtime.GCSettings.IsServerGC}");
        var dir = Directory.CreateTempSubdirectory("vsls-replay-bench-").FullName;
        try
        {
            var file = Path.Combine(dir, "bench.pcap");
            var written = Generate(file, packets, connections, burst);
            Console.WriteLine($"capture: {written:N0} packets over {connections:N0} TCP connections, about 1,000 open at a time, {burst} packets in a row per connection, {new FileInfo(file).Length / 1e6:F0} MB ({file})");

            // Best of 3 for the baselines (they are short); the replay once per round, best of 2.
            var read = Best(3, () => ReadOnly(file));
            var decode = Best(3, () => ReadDecode(file));
            var conntrack = Best(3, () => ReadDecodeConntrack(file));
            var workers = Environment.ProcessorCount;
            var parallelDecode = Best(3, () => ParallelDecode(file, workers));
            // The two replays alternate round by round so that a change in the machine's load hits both.
            // [g]: the same replay with a one-VS topology whose accept-all rule syncs nothing, to show what
            // journaling every connection (the accept-all default, sync = immediate) costs in the same run.
            var unsynced = Path.Combine(dir, "unsynced.conf");
            File.WriteAllText(unsynced, "vsls {\n  members = [replay]\n  virtual-systems = [\n    { id = 1, name = replay, priority = [replay], max-connections = 10000000,\n" +
                "      policy { rules = [ { name = accept-all, source = any, service = any, action = accept, sync = none } ] } }\n  ]\n}\n");
            double sequential = 0, replay = 0, replayUnsynced = 0;
            for (var round = 0; round < 2; round++)
            {
                sequential = Math.Max(sequential, await Replay(file, written, decodeWorkers: 0));
                replay = Math.Max(replay, await Replay(file, written, decodeWorkers: null));
                replayUnsynced = Math.Max(replayUnsynced, await Replay(file, written, decodeWorkers: null, topology: unsynced));
            }

            Console.WriteLine($"[a] read the pcap container only:                       {read:N0} packets/s");
            Console.WriteLine($"[b] read + PacketDotNet decode to PacketHeader:          {decode:N0} packets/s (ratio to [a] {decode / read:F3})");
            Console.WriteLine($"[c] read + decode + Dictionary conntrack (state machine): {conntrack:N0} packets/s (ratio to [b] {conntrack / decode:F3})");
            Console.WriteLine($"[e] read + decode on {workers} threads, in order (ParallelCaptureDecoder): {parallelDecode:N0} packets/s (ratio to [b] {parallelDecode / decode:F3})");
            Console.WriteLine($"[d] replay --embedded, decoding on the replay's thread (before): {sequential:N0} packets/s (ratio to [c] {sequential / conntrack:F3})");
            Console.WriteLine($"[f] vsls replay --embedded --vs-by single, decoding on {workers} threads: {replay:N0} packets/s | ratio to [d] {replay / sequential:F3}, to [c] {replay / conntrack:F3}, to [e] {replay / parallelDecode:F3} | goal >= 2,000,000: {(replay >= 2_000_000 ? "met" : "not met")}");
            Console.WriteLine($"[g] [f] with the accept-all rule at sync = none (no journal writes): {replayUnsynced:N0} packets/s | ratio to [f] {replayUnsynced / replay:F3}, to [c] {replayUnsynced / conntrack:F3}");
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Best(int rounds, Func<double> measure)
    {
        var best = 0.0;
        for (var i = 0; i < rounds; i++)
            best = Math.Max(best, measure());
        return best;
    }

    /// <summary>
    /// Writes <paramref name="packets"/> packets: <paramref name="connections"/> connections, about 1,000
    /// open at a time, each SYN, SYN-ACK, ACK, data segments alternating directions, FIN, FIN, ACK; 1 µs apart.
    /// </summary>
    private static long Generate(string file, int packets, int connections, int burst)
    {
        var perConnection = Math.Max(8, packets / connections);
        var server = 0xC0A8010Au;
        var t = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
        long written = 0;
        using var writer = new PcapWriter(new BufferedStream(File.Create(file), 1 << 20));
        const int Concurrent = 1000;
        var step = new int[Concurrent];
        var id = new int[Concurrent];
        var next = 0;
        for (var s = 0; s < Concurrent; s++)
            id[s] = next++;
        while (written < packets)
        {
            for (var i = 0; i < Concurrent * burst && written < packets; i++)
            {
                var s = i / burst;
                if (id[s] < 0)
                    continue;
                var n = id[s];
                var client = 0x0A000000u + (uint)n;
                var port = (ushort)(1024 + n % 60000);
                var k = step[s]++;
                byte[] frame;
                if (k == 0)
                    frame = FrameBuilder.EthernetIPv4(client, server, 6, FrameBuilder.Tcp(port, 443, 0x02));
                else if (k == 1)
                    frame = FrameBuilder.EthernetIPv4(server, client, 6, FrameBuilder.Tcp(443, port, 0x12));
                else if (k < perConnection - 3)
                    frame = k % 2 == 0
                        ? FrameBuilder.EthernetIPv4(client, server, 6, FrameBuilder.Tcp(port, 443, 0x18), 100)
                        : FrameBuilder.EthernetIPv4(server, client, 6, FrameBuilder.Tcp(443, port, 0x18), 1000);
                else if (k == perConnection - 3)
                    frame = FrameBuilder.EthernetIPv4(client, server, 6, FrameBuilder.Tcp(port, 443, 0x11));
                else if (k == perConnection - 2)
                    frame = FrameBuilder.EthernetIPv4(server, client, 6, FrameBuilder.Tcp(443, port, 0x11));
                else
                    frame = FrameBuilder.EthernetIPv4(client, server, 6, FrameBuilder.Tcp(port, 443, 0x10));
                writer.Write(t + written * 10, frame);
                written++;
                if (step[s] == perConnection)
                {
                    step[s] = 0;
                    id[s] = next < connections ? next++ : -1;
                }
            }
            if (id.All(i => i < 0))
                break;
        }
        return written;
    }

    private static double ReadOnly(string file)
    {
        var sw = Stopwatch.StartNew();
        long n = 0, bytes = 0;
        using (var reader = CaptureReader.Open(file))
        {
            while (reader.TryRead(out var frame))
            {
                n++;
                bytes += frame.Data.Count;
            }
        }
        GC.KeepAlive(bytes);
        return n / sw.Elapsed.TotalSeconds;
    }

    private static double ReadDecode(string file)
    {
        var sw = Stopwatch.StartNew();
        long n = 0, length = 0;
        using (var reader = CaptureReader.Open(file))
        {
            while (reader.TryRead(out var frame))
            {
                var d = PacketDecoder.Decode(frame);
                length += d.Header.IpLength;
                n++;
            }
        }
        GC.KeepAlive(length);
        return n / sw.Elapsed.TotalSeconds;
    }

    /// <summary>A tracked flow: the key as its first packet made it (it knows the originator) and its state.</summary>
    private struct Tracked
    {
        public FlowKey Key;
        public ConnectionState State;
        public bool Open;
    }

    private static double ReadDecodeConntrack(string file)
    {
        var sw = Stopwatch.StartNew();
        long n = 0;
        var table = new Dictionary<FlowKey, Tracked>();
        using (var reader = CaptureReader.Open(file))
        {
            while (reader.TryRead(out var frame))
            {
                var d = PacketDecoder.Decode(frame);
                n++;
                if (!d.IsPacket)
                    continue;
                var key = FlowKey.FromPacket(d.Header);
                ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(table, key, out var exists);
                if (!exists)
                {
                    entry.Key = key;
                    entry.Open = ConnectionStateMachine.CanOpen(d.Header).Opens;
                    if (entry.Open)
                        entry.State = ConnectionStateMachine.Open(d.Header, frame.Timestamp);
                }
                else if (entry.Open)
                {
                    ConnectionStateMachine.Step(ref entry.State, d.Header, entry.Key.DirectionOf(d.Header), frame.Timestamp);
                }
            }
        }
        GC.KeepAlive(table);
        return n / sw.Elapsed.TotalSeconds;
    }

    private static double ParallelDecode(string file, int workers)
    {
        var sw = Stopwatch.StartNew();
        long n = 0, length = 0;
        using (var reader = CaptureReader.Open(file))
        using (var decoder = new ParallelCaptureDecoder(reader, workers))
        {
            while (decoder.ReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } chunk)
            {
                for (var i = 0; i < chunk.Count; i++)
                    length += chunk[i].Decoded.Header.IpLength;
                n += chunk.Count;
            }
        }
        GC.KeepAlive(length);
        return n / sw.Elapsed.TotalSeconds;
    }

    private static async Task<double> Replay(string file, long packets, int? decodeWorkers, string? topology = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var options = new ReplayOptions { File = file, Json = true, DecodeWorkers = decodeWorkers, Topology = topology };
        var code = await ReplayRunner.RunAsync(options, new EmbeddedReplaySink(), output, error, CancellationToken.None);
        if (code != 0)
            throw new InvalidOperationException($"replay exited {code}: {error}");
        using var report = JsonDocument.Parse(output.ToString());
        var sent = report.RootElement.GetProperty("packets_sent").GetInt64();
        if (sent != packets)
            throw new InvalidOperationException($"replay sent {sent} of {packets} packets");
        var accepted = report.RootElement.GetProperty("virtual_systems")[0].GetProperty("accepted").GetInt64();
        Console.WriteLine($"    replay round (decode workers {decodeWorkers?.ToString(CultureInfo.InvariantCulture) ?? "= cores"}): {sent:N0} packets in {report.RootElement.GetProperty("duration_s").GetDouble():F2} s, {accepted:N0} accepted, " +
                          $"{report.RootElement.GetProperty("virtual_systems")[0].GetProperty("connections").GetInt64():N0} connections in the table");
        return report.RootElement.GetProperty("packets_per_second").GetDouble();
    }
}
