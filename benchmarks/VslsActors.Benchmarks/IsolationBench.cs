using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Topology;

using static VslsActors.Benchmarks.BenchTraffic;

namespace VslsActors.Benchmarks;

/// <summary>
/// Issue 7's isolation figure: does one flooded tenant starve the others? One member wired as
/// <c>vsls node</c> wires it (<see cref="EstablishedBench.StartMember(string, Topology, string)"/>), 12 VSs.
/// VSs 2-12 (the "eleven") run the same normal traffic in both phases: batches of 256 packets, 254 on
/// 1,000 established connections per VS and 2 SYNs of new connections, a fixed number of Asks in flight
/// per VS (closed loop, as an ingress client). VS 1 has a packets/s limit. <b>Baseline phase</b>: VS 1 is
/// idle. <b>Flood phase</b>: VS 1 gets SYNs on fresh keys at <c>factor ×</c> its limit, paced (open loop,
/// as a flood is: it does not wait for answers, up to a cap of Asks outstanding). Phases alternate
/// (baseline, flood, baseline, flood) so that drift of the machine's other load shows; for each phase it
/// prints the eleven's accepted packets/s and the p50/p99 of their per-batch verdict latency (Ask to
/// reply), and the ratios flood/baseline against the goal (throughput ≥ 90 %, p99 ≤ 2×).
/// Run with <c>dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- isolation-bench [seconds] [pps-limit] [factor]</c>.
/// </summary>
internal static class IsolationBench
{
    private const int VsCount = 12;
    private const int ConnectionsPerVs = 1_000;
    private const int BatchSize = 256;
    private const int NewPerBatch = 2;
    private const int BatchesPerVs = 64;
    private const int InFlightPerVs = 4;
    private const int FloodInFlightCap = 8192;


    public static int Run(string[] args)
    {
        var seconds = args.Length > 0 && int.TryParse(args[0], out var s) ? s : 4;
        var limit = args.Length > 1 && int.TryParse(args[1], out var l) ? l : 20_000;
        var factor = args.Length > 2 && int.TryParse(args[2], out var f) ? f : 20;
        var rounds = args.Length > 3 && int.TryParse(args[3], out var n) ? n : 6;
        Console.WriteLine($"isolation-bench: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, " +
                          $"server GC = {System.Runtime.GCSettings.IsServerGC}, {rounds} rounds of baseline + flood, {seconds} s per phase, VS 1 limit {limit:N0} packets/s flooded at {factor}x = {(long)limit * factor:N0} packets/s, " +
                          $"load average before: {LoadAverage()}");
        var dbPath = Path.Combine(Path.GetTempPath(), $"vsls-isolation-{Guid.NewGuid():N}.db");
        var host = EstablishedBench.StartMember(dbPath, Topology(limit));
        try
        {
            var region = host.Services.GetRequiredService<ActorRegistry>().Get<VirtualSystemRegion>();
            var now = DateTime.UtcNow.Ticks;
            for (var v = 2; v <= VsCount; v++)
                Handshakes(region, new VsId(v), v, ConnectionsPerVs, now);

            Phase(region, flood: null, TimeSpan.FromSeconds(2), 0); // warm-up
            var results = new List<(bool Flooded, PhaseResult Result)>();
            var seq = 1;
            for (var round = 0; round < rounds; round++)
            {
                foreach (var flooded in new[] { false, true })
                {
                    var flood = flooded ? new Flood(region, (long)limit * factor) : null;
                    var r = Phase(region, flood, TimeSpan.FromSeconds(seconds), seq++);
                    results.Add((flooded, r));
                    Console.WriteLine($"  {(flooded ? "flood" : "baseline"),-8} eleven: {r.PacketsPerSecond,12:N0} accepted packets/s, batch latency p50 {r.P50Ms,6:F2} ms, p99 {r.P99Ms,7:F2} ms" +
                                      (flood is null ? "" : $" | VS 1 offered {r.FloodOffered:N0} packets/s, accepted {r.FloodAccepted:N0}/s, over-limit packets/s {r.FloodRefused:N0}/s") +
                                      $" | process CPU {r.CpuCores:F2} cores, load {LoadAverage()}");
                }
                var (b, fl) = (results[^2].Result, results[^1].Result);
                Console.WriteLine($"round {round + 1}: throughput flood/baseline {fl.PacketsPerSecond / b.PacketsPerSecond:P1}, p99 flood/baseline {fl.P99Ms / b.P99Ms:F2}x");
            }
            // Pooled over all rounds: phases alternate, so the machine's other load falls on both alike.
            var baseline = Pool(results.Where(x => !x.Flooded).Select(x => x.Result));
            var floodAll = Pool(results.Where(x => x.Flooded).Select(x => x.Result));
            var tput = floodAll.PacketsPerSecond / baseline.PacketsPerSecond;
            var p99 = floodAll.P99Ms / baseline.P99Ms;
            Console.WriteLine($"pooled baseline: {baseline.PacketsPerSecond:N0} packets/s, p50 {baseline.P50Ms:F2} ms, p99 {baseline.P99Ms:F2} ms");
            Console.WriteLine($"pooled flood:    {floodAll.PacketsPerSecond:N0} packets/s, p50 {floodAll.P50Ms:F2} ms, p99 {floodAll.P99Ms:F2} ms; VS 1 offered {floodAll.FloodOffered:N0} packets/s ({floodAll.FloodOffered / limit:F1}x its limit), accepted {floodAll.FloodAccepted:N0}/s");
            // The machine is shared: how much of this process's own CPU the flood costs the eleven, whatever CPU the machine gave it.
            var perCore = floodAll.PacketsPerSecond / floodAll.CpuCores / (baseline.PacketsPerSecond / baseline.CpuCores);
            Console.WriteLine($"eleven's packets per process CPU-second: baseline {baseline.PacketsPerSecond / baseline.CpuCores:N0}, flood {floodAll.PacketsPerSecond / floodAll.CpuCores:N0} (ratio {perCore:P1}); process CPU baseline {baseline.CpuCores:F2} cores, flood {floodAll.CpuCores:F2}");
            Console.WriteLine($"ratio flood/baseline: throughput {tput:P1} (goal ≥ 90 %: {(tput >= 0.9 ? "met" : "missed")}), p99 {p99:F2}x (goal ≤ 2x: {(p99 <= 2 ? "met" : "missed")})");
        }
        finally
        {
            host.StopAsync().Wait(TimeSpan.FromSeconds(30));
            host.Dispose();
            foreach (var file in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(dbPath) + "*"))
                File.Delete(file);
        }
        return 0;
    }

    /// <summary>
    /// 12 VSs accepting everything without sync (this measures sharing CPU and dispatcher, not the
    /// journal); VS 1 with a packets/s limit, room for every connection the phases open.
    /// </summary>
    private static Topology Topology(int limit)
    {
        var sb = new System.Text.StringBuilder("vsls {\n  members = [member-1]\n  virtual-systems = [\n");
        for (var v = 1; v <= VsCount; v++)
        {
            var limits = v == 1 ? $"packets-per-second = {limit}, " : "";
            sb.Append($"    {{ id = {v}, name = vs-{v}, priority = [member-1], max-connections = 1000000, {limits}policy {{ rules = [ {{ name = all, action = accept, sync = none }} ] }} }}\n");
        }
        sb.Append("  ]\n}\n");
        return TopologyLoader.Parse(sb.ToString(), "isolation-bench topology");
    }

    private sealed record PhaseResult(double PacketsPerSecond, double P50Ms, double P99Ms, double FloodOffered, double FloodAccepted, double FloodRefused)
    {
        /// <summary>CPU this process used during the phase (member and senders), in cores.</summary>
        public double CpuCores { get; init; }
        public long[] Latencies { get; init; } = [];
        public double Seconds { get; init; }
    }

    /// <summary>Phases pooled: rates weighted by time, percentiles over every batch of every phase.</summary>
    private static PhaseResult Pool(IEnumerable<PhaseResult> phases)
    {
        var list = phases.ToList();
        var seconds = list.Sum(p => p.Seconds);
        var all = list.SelectMany(p => p.Latencies).Order().ToArray();
        return new PhaseResult(
            list.Sum(p => p.PacketsPerSecond * p.Seconds) / seconds,
            Percentile(all, 0.50),
            Percentile(all, 0.99),
            list.Sum(p => p.FloodOffered * p.Seconds) / seconds,
            list.Sum(p => p.FloodAccepted * p.Seconds) / seconds,
            list.Sum(p => p.FloodRefused * p.Seconds) / seconds)
        {
            CpuCores = list.Sum(p => p.CpuCores * p.Seconds) / seconds,
        };
    }

    private static double Percentile(long[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))] * 1000.0 / Stopwatch.Frequency;

    /// <summary>
    /// One phase: the eleven's closed-loop lanes for <paramref name="duration"/>, and the flood if any.
    /// Every batch is built before the phase starts (timestamps at the phase's start: within every
    /// timeout), so the lanes measure the member, not packet building.
    /// </summary>
    private static PhaseResult Phase(IActorRef region, Flood? flood, TimeSpan duration, int phase)
    {
        var now = DateTime.UtcNow.Ticks;
        var batches = new VirtualSystemCommands.ProcessPackets[VsCount + 1][];
        var random = new Random(7 + phase);
        for (var v = 2; v <= VsCount; v++)
        {
            batches[v] = new VirtualSystemCommands.ProcessPackets[BatchesPerVs];
            for (var b = 0; b < BatchesPerVs; b++)
            {
                var packets = new TimedPacket[BatchSize];
                for (var i = 0; i < BatchSize - NewPerBatch; i++)
                {
                    var c = random.Next(ConnectionsPerVs);
                    packets[i] = new TimedPacket(now, random.Next(2) == 0 ? FromClient(v, c, TcpFlags.Ack) : FromServer(v, c, TcpFlags.Ack | TcpFlags.Psh));
                }
                batches[v][b] = new VirtualSystemCommands.ProcessPackets(new VsId(v), packets);
            }
        }

        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var floodTask = flood?.RunAsync(sw, duration, now, phase);
        var lanes = new Task<(long Accepted, List<long> Latencies)>[VsCount + 1];
        for (var v = 2; v <= VsCount; v++)
        {
            var own = batches[v];
            var vs = v;
            lanes[v] = Task.Run(async () =>
            {
                long accepted = 0;
                var latencies = new List<long>(1 << 16);
                var pending = new Queue<(long Sent, Task<VirtualSystemReplies.PacketVerdicts> Reply)>();
                var next = 0;
                // New connections: fresh source ports of the VS's clients, never seen before in this run.
                var fresh = phase * 1_000_000;
                while (sw.Elapsed < duration)
                {
                    while (pending.Count < InFlightPerVs)
                    {
                        var batch = own[next++ % own.Length];
                        // The two SYN slots of a reused batch are filled anew so that each batch really opens two connections.
                        for (var n = 0; n < NewPerBatch; n++)
                        {
                            fresh++;
                            batch.Packets[BatchSize - NewPerBatch + n] = new TimedPacket(now, FromClient(vs, ConnectionsPerVs + fresh % 60_000, TcpFlags.Syn, (ushort)(1024 + fresh / 60_000)));
                        }
                        pending.Enqueue((Stopwatch.GetTimestamp(), region.Ask<VirtualSystemReplies.PacketVerdicts>(batch, TimeSpan.FromMinutes(1))));
                    }
                    var (sent, task) = pending.Dequeue();
                    var reply = await task.ConfigureAwait(false);
                    latencies.Add(Stopwatch.GetTimestamp() - sent);
                    if (reply.Counts.Accepted != BatchSize)
                        throw new InvalidOperationException($"VS {vs}: a batch of {BatchSize} got {reply.Counts}");
                    accepted += reply.Counts.Accepted;
                }
                while (pending.Count > 0)
                    accepted += (await pending.Dequeue().Reply.ConfigureAwait(false)).Counts.Accepted;
                return (accepted, latencies);
            });
        }
        var eleven = lanes.Skip(2).ToArray();
        Task.WaitAll(eleven);
        var floodResult = floodTask?.Result;
        var elapsed = sw.Elapsed.TotalSeconds;
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds / elapsed;
        var all = eleven.SelectMany(l => l.Result.Latencies).Order().ToArray();
        return new PhaseResult(
            eleven.Sum(l => l.Result.Accepted) / elapsed,
            Percentile(all, 0.50),
            Percentile(all, 0.99),
            floodResult?.Offered / elapsed ?? 0,
            floodResult?.Accepted / elapsed ?? 0,
            floodResult?.Refused / elapsed ?? 0)
        {
            Latencies = all,
            Seconds = elapsed,
            CpuCores = cpu,
        };
    }

    /// <summary>SYNs for VS 1 on fresh keys at a fixed offered rate, not waiting for answers (up to <see cref="FloodInFlightCap"/> outstanding).</summary>
    private sealed class Flood(IActorRef region, long packetsPerSecond)
    {
        public async Task<(long Offered, long Accepted, long Refused)> RunAsync(Stopwatch sw, TimeSpan duration, long now, int phase)
        {
            // Fresh keys in every batch, as a SYN flood sends: what the limit admits opens new connections.
            var key = (long)phase * 100_000_000;
            VirtualSystemCommands.ProcessPackets NextBatch()
            {
                var packets = new TimedPacket[BatchSize];
                for (var i = 0; i < BatchSize; i++, key++)
                    packets[i] = new TimedPacket(now, PacketHeader.Tcp(NetAddress.FromIPv4(0x0B000000u + (uint)(key / 60_000)), (ushort)(1024 + key % 60_000), Server, 443, TcpFlags.Syn, 60));
                return new VirtualSystemCommands.ProcessPackets(new VsId(1), packets);
            }
            long offered = 0, accepted = 0, refused = 0;
            var pending = new Queue<Task<VirtualSystemReplies.PacketVerdicts>>();
            while (sw.Elapsed < duration)
            {
                var due = (long)(sw.Elapsed.TotalSeconds * packetsPerSecond);
                while (offered + BatchSize <= due && pending.Count < FloodInFlightCap)
                {
                    pending.Enqueue(region.Ask<VirtualSystemReplies.PacketVerdicts>(NextBatch(), TimeSpan.FromMinutes(1)));
                    offered += BatchSize;
                }
                while (pending.Count > 0 && pending.Peek().IsCompleted)
                {
                    var c = (await pending.Dequeue().ConfigureAwait(false)).Counts;
                    accepted += c.Accepted;
                    refused += c.OverPacketRate;
                }
                // Pacing by the clock: a late wake-up sends every batch that fell due meanwhile.
                await Task.Delay(1).ConfigureAwait(false);
            }
            while (pending.Count > 0)
            {
                var c = (await pending.Dequeue().ConfigureAwait(false)).Counts;
                accepted += c.Accepted;
                refused += c.OverPacketRate;
            }
            return (offered, accepted, refused);
        }
    }
}
