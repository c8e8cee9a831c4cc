using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Topology;
using VslsActors.Node;

using static VslsActors.Benchmarks.BenchTraffic;

namespace VslsActors.Benchmarks;

/// <summary>
/// Issue 3's first speed figure, on the product's real path: established-connection packets sent to
/// a one-member cluster's <c>virtual-system</c> shard region (the member wired exactly as <c>vsls node</c>
/// wires it, with <see cref="VslsHostFactory"/> and its SQLite journal), through the shard and the VS
/// actors to the connection actors, 12 VSs × 1,000 live connections. Batches of 256 packets per VS,
/// a fixed number of Asks in flight per VS (what an ingress client does). Two traffic shapes: packet
/// trains (a batch covers 32 connections, 8 packets each: TCP sends in flights) and spread (a batch
/// covers 256 different connections, one packet each: the worst case for per-connection messages).
/// Printed beside the agreed baseline measured in the same run: a single-threaded
/// <c>Dictionary&lt;FlowKey, ConnectionState&gt;</c> conntrack over the same packets.
/// Run with <c>dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- established-bench [seconds]</c>.
/// </summary>
internal static class EstablishedBench
{
    private const int VsCount = 12;
    private const int ConnectionsPerVs = 1_000;
    private const int BatchSize = 256;
    private const int BatchesPerVs = 64;
    private const int InFlightPerVs = 8;

    public static int Run(string[] args)
    {
        var seconds = args.Length > 0 && int.TryParse(args[0], out var s) ? s : 10;
        Console.WriteLine($"established-bench: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, " +
                          $"server GC = {System.Runtime.GCSettings.IsServerGC}, {seconds} s per shape");
        var dbPath = Path.Combine(Path.GetTempPath(), $"vsls-established-{Guid.NewGuid():N}.db");
        var host = StartMember(dbPath);
        try
        {
            var region = host.Services.GetRequiredService<ActorRegistry>().Get<VirtualSystemRegion>();
            var now = DateTime.UtcNow.Ticks;
            for (var v = 0; v < VsCount; v++)
                Handshakes(region, new VsId(v + 1), v, ConnectionsPerVs, now);

            foreach (var (shape, connectionsPerBatch) in new[] { ("trains: 32 connections x 8 packets per batch", 32), ("spread: 256 connections x 1 packet per batch", 256) })
            {
                var batches = EstablishedBatches(connectionsPerBatch, now);
                var baseline = Baseline(batches, now);
                Drive(region, batches, TimeSpan.FromSeconds(2)); // warm-up
                var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
                var gen0 = GC.CollectionCount(0);
                var gen2 = GC.CollectionCount(2);
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var (packets, elapsed) = Drive(region, batches, TimeSpan.FromSeconds(seconds));
                // CPU time per packet: on a shared machine it moves far less than packets/s, which depends on how much CPU the others leave.
                var cpuNsPerPacket = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalNanoseconds / packets;
                var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
                var rate = packets / elapsed.TotalSeconds;
                Console.WriteLine($"{shape}: {rate:N0} packets/s through the shard region ({packets:N0} in {elapsed.TotalSeconds:F1} s, " +
                                  $"{cpuNsPerPacket:F0} ns CPU/packet, {(double)allocated / packets:F1} B allocated/packet, gen0 {GC.CollectionCount(0) - gen0}, gen2 {GC.CollectionCount(2) - gen2}) | " +
                                  $"baseline Dictionary conntrack {baseline:N0} packets/s | ratio {rate / baseline:F3} (1/{baseline / rate:F1})");
            }
        }
        finally
        {
            host.StopAsync().Wait(TimeSpan.FromSeconds(30));
            host.Dispose();
            foreach (var f in Directory.GetFiles(Path.GetTempPath(), Path.GetFileName(dbPath) + "*"))
                File.Delete(f);
        }
        return 0;
    }

    private static IHost StartMember(string dbPath)
    {
        var sb = new System.Text.StringBuilder("vsls {\n  members = [member-1]\n  virtual-systems = [\n");
        for (var v = 1; v <= VsCount; v++)
            sb.Append($"    {{ id = {v}, name = vs-{v}, priority = [member-1], max-connections = {ConnectionsPerVs * 2}, policy {{ rules = [ {{ name = all, action = accept, sync = immediate }} ] }} }}\n");
        sb.Append("  ]\n}\n");
        return StartMember(dbPath, TopologyLoader.Parse(sb.ToString(), "established-bench topology"));
    }

    /// <summary>A one-member cluster running <paramref name="topology"/>, wired as <c>vsls node</c> wires it (plus <paramref name="extraHocon"/>), with every VS started.</summary>
    internal static IHost StartMember(string dbPath, Topology topology, string extraHocon = "")
    {
        var port = LocalPorts.Free(1)[0];
        var host = VslsHostFactory.Build(
            new VslsClusterOptions
            {
                Member = new MemberName("member-1"),
                Port = port,
                SeedNodes = [$"akka.tcp://{VslsClusterOptions.SystemName}@127.0.0.1:{port}"],
                Topology = topology,
                Database = new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={dbPath}"),
                ExtraHocon = "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING\n" + extraHocon,
            },
            logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        host.StartAsync().Wait();
        var region = host.Services.GetRequiredService<ActorRegistry>().GetAsync<VirtualSystemRegion>().Result;
        // Every VS started (the member is up and the coordinator allocates them).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        foreach (var vs in topology.VirtualSystems)
        {
            while (true)
            {
                try
                {
                    region.Ask<VirtualSystemReplies.Started>(new VirtualSystemCommands.EnsureStarted(vs.Id), TimeSpan.FromSeconds(2)).Wait();
                    break;
                }
                catch (AggregateException) when (DateTime.UtcNow < deadline)
                {
                }
            }
        }
        return host;
    }

    /// <summary>Per VS, <see cref="BatchesPerVs"/> batches of data packets on established connections.</summary>
    private static VirtualSystemCommands.ProcessPackets[][] EstablishedBatches(int connectionsPerBatch, long now)
    {
        var random = new Random(7);
        var batches = new VirtualSystemCommands.ProcessPackets[VsCount][];
        for (var v = 0; v < VsCount; v++)
        {
            batches[v] = new VirtualSystemCommands.ProcessPackets[BatchesPerVs];
            for (var b = 0; b < BatchesPerVs; b++)
            {
                var packets = new TimedPacket[BatchSize];
                var first = random.Next(ConnectionsPerVs - connectionsPerBatch);
                for (var i = 0; i < BatchSize; i++)
                {
                    var c = first + i % connectionsPerBatch;
                    packets[i] = new TimedPacket(now, random.Next(2) == 0 ? FromClient(v, c, TcpFlags.Ack) : FromServer(v, c, TcpFlags.Ack | TcpFlags.Psh));
                }
                batches[v][b] = new VirtualSystemCommands.ProcessPackets(new VsId(v + 1), packets);
            }
        }
        return batches;
    }

    /// <summary>Keeps <see cref="InFlightPerVs"/> Asks outstanding per VS for <paramref name="duration"/>; returns accepted packets and the time.</summary>
    private static (long Packets, TimeSpan Elapsed) Drive(IActorRef region, VirtualSystemCommands.ProcessPackets[][] batches, TimeSpan duration)
    {
        var sw = Stopwatch.StartNew();
        var lanes = new Task<long>[VsCount];
        for (var v = 0; v < VsCount; v++)
        {
            var own = batches[v];
            lanes[v] = Task.Run(async () =>
            {
                long accepted = 0;
                var pending = new Queue<Task<VirtualSystemReplies.PacketVerdicts>>();
                var next = 0;
                while (sw.Elapsed < duration)
                {
                    while (pending.Count < InFlightPerVs)
                        pending.Enqueue(region.Ask<VirtualSystemReplies.PacketVerdicts>(own[next++ % own.Length], TimeSpan.FromMinutes(1)));
                    var reply = await pending.Dequeue().ConfigureAwait(false);
                    if (reply.Counts.Accepted != BatchSize)
                        throw new InvalidOperationException($"a batch of {BatchSize} established packets got {reply.Counts}");
                    accepted += reply.Counts.Accepted;
                }
                while (pending.Count > 0)
                    accepted += (await pending.Dequeue().ConfigureAwait(false)).Counts.Accepted;
                return accepted;
            });
        }
        Task.WaitAll(lanes);
        sw.Stop();
        return (lanes.Sum(l => l.Result), sw.Elapsed);
    }

    /// <summary>The agreed baseline over the same packets: one thread, one dictionary, best of 3 passes.</summary>
    private static double Baseline(VirtualSystemCommands.ProcessPackets[][] batches, long now)
    {
        var table = new Dictionary<FlowKey, (FlowKey Key, ConnectionState State)>();
        for (var v = 0; v < VsCount; v++)
        {
            for (var c = 0; c < ConnectionsPerVs; c++)
            {
                var syn = FromClient(v, c, TcpFlags.Syn);
                var state = ConnectionStateMachine.Open(syn, now);
                ConnectionStateMachine.Step(ref state, FromServer(v, c, TcpFlags.Syn | TcpFlags.Ack), FlowDirection.Reply, now);
                ConnectionStateMachine.Step(ref state, FromClient(v, c, TcpFlags.Ack), FlowDirection.Original, now);
                var key = FlowKey.FromPacket(syn);
                table[key] = (key, state);
            }
        }
        var best = double.MaxValue;
        long packets = 0;
        for (var round = 0; round < 3; round++)
        {
            var sw = Stopwatch.StartNew();
            packets = 0;
            for (var pass = 0; pass < 4; pass++)
            {
                foreach (var vs in batches)
                {
                    foreach (var batch in vs)
                    {
                        foreach (ref readonly var p in batch.Packets.AsSpan())
                        {
                            ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(table, FlowKey.FromPacket(p.Header));
                            if (!System.Runtime.CompilerServices.Unsafe.IsNullRef(ref entry) &&
                                ConnectionStateMachine.Step(ref entry.State, p.Header, entry.Key.DirectionOf(p.Header), p.Timestamp).Accepted)
                                packets++;
                        }
                    }
                }
            }
            sw.Stop();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return packets / best;
    }
}
