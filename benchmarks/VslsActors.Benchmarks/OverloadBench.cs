using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Overload;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Overload;
using VslsActors.Domain.Topology;

using static VslsActors.Benchmarks.BenchTraffic;

namespace VslsActors.Benchmarks;

/// <summary>
/// Graceful degradation (docs/degradation.md), measured: a one-member cluster (wired as <c>vsls node</c>,
/// SQLite journal) where 3 VSs carry established-connection traffic (1,000 connections each, batches of
/// 256, 8 in flight per VS) while a 4th VS is flooded with new connections (unique SYNs, batches of 256,
/// 16 in flight), every rule synced immediately (a new connection is journaled before its batch is
/// answered). The same run twice on fresh members: <c>vsls.overload.enabled = off</c> (the baseline) and
/// <c>on</c>; printed: the established packets/s of each and their ratio, the SYNs accepted and shed, and
/// the time spent at each level. The thresholds are the shipped ones except the holds, shortened so a
/// phase of a few seconds reaches the levels (enter-hold 500 ms, escalate-hold 1 s, exit-hold 1 s).
/// Run with <c>dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- overload-bench [seconds]</c>.
/// </summary>
internal static class OverloadBench
{
    private const int EstablishedVss = 3;
    private const int ConnectionsPerVs = 1_000;
    private const int BatchSize = 256;
    private const int InFlightPerVs = 8;
    private const int FloodInFlight = 16;
    private static readonly VsId FloodedVs = new(EstablishedVss + 1);

    public static int Run(string[] args)
    {
        var seconds = args.Length > 0 && int.TryParse(args[0], out var s) ? s : 10;
        Console.WriteLine($"overload-bench: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, {seconds} s per phase (after 3 s warm-up); load before: {LoadAverage()}");
        var off = Phase(enabled: false, seconds);
        var on = Phase(enabled: true, seconds);
        Console.WriteLine($"established packets/s under a new-connection flood: shedding on {on.EstablishedRate:N0} | baseline shedding off {off.EstablishedRate:N0} | ratio {on.EstablishedRate / off.EstablishedRate:F2}; load after: {LoadAverage()}");
        return 0;
    }

    private sealed record PhaseResult(double EstablishedRate);

    private static PhaseResult Phase(bool enabled, int seconds)
    {
        var sb = new System.Text.StringBuilder("vsls {\n  members = [member-1]\n  virtual-systems = [\n");
        for (var v = 1; v <= EstablishedVss + 1; v++)
            sb.Append($"    {{ id = {v}, name = vs-{v}, weight = 10, priority = [member-1], max-connections = 1000000, policy {{ rules = [ {{ name = all, action = accept, sync = immediate }} ] }} }}\n");
        sb.Append("  ]\n}\n");
        var dbPath = Path.Combine(Path.GetTempPath(), $"vsls-overload-{Guid.NewGuid():N}.db");
        var hocon = $"vsls.overload {{ enabled = {(enabled ? "on" : "off")}, enter-hold = 500ms, escalate-hold = 1s, exit-hold = 1s }}";
        var host = EstablishedBench.StartMember(dbPath, TopologyLoader.Parse(sb.ToString(), "overload-bench topology"), hocon);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var state = MemberOverloadState.Get(system);
            var region = host.Services.GetRequiredService<ActorRegistry>().Get<VirtualSystemRegion>();
            var now = DateTime.UtcNow.Ticks;
            for (var v = 0; v < EstablishedVss; v++)
                Handshakes(region, new VsId(v + 1), v, ConnectionsPerVs, now);

            using var stop = new CancellationTokenSource();
            var measuring = new ManualResetEventSlim();
            var sw = new Stopwatch();
            var established = Enumerable.Range(0, EstablishedVss).Select(v => Task.Run(() => EstablishedLaneAsync(region, v, measuring, stop.Token))).ToArray();
            var flood = Task.Run(() => FloodLaneAsync(region, measuring, stop.Token));
            var levels = new double[3];
            long maxLatencyMicros = 0, maxQueued = 0;
            var warmUp = Stopwatch.StartNew();
            while (warmUp.Elapsed < TimeSpan.FromSeconds(3))
                Thread.Sleep(50);
            measuring.Set();
            sw.Start();
            var last = sw.Elapsed;
            while (sw.Elapsed < TimeSpan.FromSeconds(seconds))
            {
                Thread.Sleep(20);
                var t = sw.Elapsed;
                levels[(int)state.Level] += (t - last).TotalSeconds;
                last = t;
                if (state.ReportOf(new MemberName("member-1")) is { } report)
                {
                    maxLatencyMicros = Math.Max(maxLatencyMicros, report.LatencyMicros);
                    maxQueued = Math.Max(maxQueued, report.Queued);
                }
            }
            var elapsed = sw.Elapsed;
            measuring.Reset();
            stop.Cancel();
            var accepted = established.Sum(l => l.Result);
            var (floodAccepted, floodShed, floodOther) = flood.Result;
            var rate = accepted / elapsed.TotalSeconds;
            Console.WriteLine($"shedding {(enabled ? "on " : "off")}: established {rate:N0} packets/s ({accepted:N0} in {elapsed.TotalSeconds:F1} s, every one accepted) | " +
                              $"flood: {floodAccepted / elapsed.TotalSeconds:N0} new connections/s opened, {floodShed / elapsed.TotalSeconds:N0}/s shed (overload), {floodOther:N0} refused by the full table | " +
                              $"time at level 0/1/2: {levels[0]:F1}/{levels[1]:F1}/{levels[2]:F1} s | monitor's max latency {maxLatencyMicros / 1000.0:N0} ms, max queued {maxQueued:N0} | load {LoadAverage()}");
            return new PhaseResult(rate);
        }
        finally
        {
            host.StopAsync().Wait(TimeSpan.FromSeconds(30));
            host.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var f in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(dbPath) + "*"))
                File.Delete(f);
        }
    }

    /// <summary>Established packets of VS <paramref name="v"/>, <see cref="InFlightPerVs"/> batches in flight; returns those accepted while measuring.</summary>
    private static async Task<long> EstablishedLaneAsync(IActorRef region, int v, ManualResetEventSlim measuring, CancellationToken stop)
    {
        var random = new Random(v);
        var id = new VsId(v + 1);
        long accepted = 0;
        var pending = new Queue<(Task<VirtualSystemReplies.PacketVerdicts> Reply, bool Counted)>();
        while (!stop.IsCancellationRequested || pending.Count > 0)
        {
            while (!stop.IsCancellationRequested && pending.Count < InFlightPerVs)
            {
                var now = DateTime.UtcNow.Ticks;
                var packets = new TimedPacket[BatchSize];
                for (var i = 0; i < BatchSize; i++)
                {
                    var c = random.Next(ConnectionsPerVs);
                    packets[i] = new TimedPacket(now, random.Next(2) == 0
                        ? FromClient(v, c, TcpFlags.Ack | TcpFlags.Psh)
                        : FromServer(v, c, TcpFlags.Ack));
                }
                pending.Enqueue((region.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(id, packets), TimeSpan.FromMinutes(1)), measuring.IsSet));
            }
            var (reply, counted) = pending.Dequeue();
            var counts = (await reply.ConfigureAwait(false)).Counts;
            if (counts.Accepted != BatchSize)
                throw new InvalidOperationException($"VS {id}: a batch of {BatchSize} established packets got {counts}");
            if (counted && measuring.IsSet)
                accepted += counts.Accepted;
        }
        return accepted;
    }

    /// <summary>Unique SYNs into the flooded VS, <see cref="FloodInFlight"/> batches in flight; returns (opened, shed, refused by the full table) while measuring.</summary>
    private static async Task<(long Accepted, long Shed, long TableFull)> FloodLaneAsync(IActorRef region, ManualResetEventSlim measuring, CancellationToken stop)
    {
        long accepted = 0, shed = 0, other = 0;
        var next = 0;
        var pending = new Queue<(Task<VirtualSystemReplies.PacketVerdicts> Reply, bool Counted)>();
        while (!stop.IsCancellationRequested || pending.Count > 0)
        {
            while (!stop.IsCancellationRequested && pending.Count < FloodInFlight)
            {
                var now = DateTime.UtcNow.Ticks;
                var packets = new TimedPacket[BatchSize];
                for (var i = 0; i < BatchSize; i++, next++)
                    packets[i] = new TimedPacket(now, PacketHeader.Tcp(NetAddress.FromIPv4(0x0B000000u + (uint)(next >> 14)), (ushort)(1024 + (next & 0x3FFF)), Server, 443, TcpFlags.Syn, 60));
                pending.Enqueue((region.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(FloodedVs, packets), TimeSpan.FromMinutes(1)), measuring.IsSet));
            }
            var (reply, counted) = pending.Dequeue();
            var counts = (await reply.ConfigureAwait(false)).Counts;
            if (counted && measuring.IsSet)
            {
                accepted += counts.Accepted;
                shed += counts.Overload;
                other += counts.OverConnectionLimit;
            }
        }
        return (accepted, shed, other);
    }
}
