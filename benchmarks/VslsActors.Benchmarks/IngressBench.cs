using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using VslsActors.Cli.Loadgen;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Topology;
using VslsActors.Node;
using VslsActors.Node.Web;
using VslsActors.Traffic;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Benchmarks;

/// <summary>
/// <c>ingress-bench [seconds] [streams]</c>: one member in this process (SQLite in a temp file, the
/// sample topology, gRPC ingress on a loopback port). First the in-process baseline: the same
/// <see cref="IngressRouter"/> the gRPC service calls (decode, classify, one ProcessPackets per VS,
/// summed verdicts), fed by the same generator and encoder, without the network. Then
/// <see cref="LoadgenRunner"/> over loopback gRPC into the same member. Printed side by side with the
/// ratio, plus the process's working set and managed heap after each phase.
/// </summary>
internal static class IngressBench
{
    private const int BatchSize = 4096;
    private const int Pipeline = 8;

    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] == "memory")
            return MemoryRunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5).GetAwaiter().GetResult();
        var seconds = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 20;
        var streams = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2;
        return RunAsync(TimeSpan.FromSeconds(seconds), streams).GetAwaiter().GetResult();
    }

    /// <summary>
    /// <c>ingress-bench memory [minutes]</c>: the member in this process, <c>vsls loadgen</c> at full rate
    /// as a child process (so the figures are the member's alone), 10,000 live flows. The goal is about
    /// a <em>steady connection count</em>, so the window starts only once the member's tracked
    /// connections have settled: not before the longest flow lifetime (long-lived flows live up to
    /// 180 s, so the VS tables fill for 3 minutes), then samples every 15 s until four in a row are
    /// within 3 % of their mean (at most 6 minutes in all). A first run that started after two close
    /// samples at 75 s caught the tables still growing (17 k -> 23 k connections in the window). Then the
    /// member's working set and managed heap (after a full collection) and its tracked connections each minute.
    /// </summary>
    private static async Task<int> MemoryRunAsync(int minutes)
    {
        var topologyPath = Path.Combine(FindRepoRoot(), "hocon", "topology.conf");
        var topology = TopologyLoader.Load(topologyPath);
        var (host, ingress, db) = await StartMemberAsync(topology).ConfigureAwait(false);
        var region = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<VirtualSystemRegion>().ConfigureAwait(false);
        var maxWarmUp = TimeSpan.FromMinutes(6);
        var minWarmUp = TimeSpan.FromMinutes(3);
        Console.WriteLine($"ingress-bench memory: warm-up until the connection count is steady (at most {maxWarmUp.TotalMinutes:0} min), then {minutes} min; loadgen at full rate (2 streams, 10,000 live flows) as a child process");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "vsls.dll"), "loadgen", "--target", ingress.Endpoint,
                     "--duration", $"{(int)maxWarmUp.TotalSeconds + minutes * 60 + 30}s", "--topology", topologyPath, "--json" })
            info.ArgumentList.Add(a);
        using var loadgen = Process.Start(info)!;
        _ = loadgen.StandardOutput.ReadToEndAsync();
        var lastProgress = "";
        var stderr = Task.Run(async () =>
        {
            while (await loadgen.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
                lastProgress = line;
        });
        var clock = Stopwatch.StartNew();
        try
        {
            var recent = new Queue<long>();
            while (clock.Elapsed < maxWarmUp)
            {
                await Task.Delay(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
                var now = await TrackedConnectionsAsync(region, topology).ConfigureAwait(false);
                Console.WriteLine($"[w] {clock.Elapsed.TotalSeconds:0} s: {now:N0} tracked connections");
                recent.Enqueue(now);
                if (recent.Count > 4)
                    recent.Dequeue();
                var mean = recent.Average();
                if (clock.Elapsed >= minWarmUp && recent.Count == 4 && recent.All(c => Math.Abs(c - mean) <= 0.03 * mean))
                    break;
            }
            Console.WriteLine($"[w] steady after {clock.Elapsed.TotalSeconds:0} s; measuring");
            for (var minute = 0; minute <= minutes; minute++)
            {
                if (minute > 0)
                    await Task.Delay(TimeSpan.FromMinutes(1)).ConfigureAwait(false);
                var connections = await TrackedConnectionsAsync(region, topology).ConfigureAwait(false);
                Console.WriteLine($"[m] {minute} min: member {Memory()}, {connections:N0} tracked connections | loadgen: {lastProgress.Trim()}");
            }
        }
        finally
        {
            if (!loadgen.HasExited)
                loadgen.Kill();
            await StopMemberAsync(host, db).ConfigureAwait(false);
        }
        return 0;
    }

    private static async Task<long> TrackedConnectionsAsync(IActorRef region, Topology topology)
    {
        long total = 0;
        foreach (var vs in topology.VirtualSystems)
            total += (await region.Ask<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(vs.Id), TimeSpan.FromSeconds(10)).ConfigureAwait(false)).Connections;
        return total;
    }

    private static async Task<(IHost Host, IngressOptions Ingress, string Db)> StartMemberAsync(Topology topology)
    {
        var db = Path.Combine(Path.GetTempPath(), $"vsls-ingress-bench-{Guid.NewGuid():N}.db");
        var ports = LocalPorts.Free(2);
        var cluster = new VslsClusterOptions
        {
            Member = topology.Members[0],
            Host = "127.0.0.1",
            Port = ports[0],
            SeedNodes = [$"akka.tcp://{VslsClusterOptions.SystemName}@127.0.0.1:{ports[0]}"],
            Topology = topology,
            Database = new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={db}"),
        };
        var ingress = new IngressOptions { Port = ports[1] };
        var host = VslsHostFactory.Build(cluster, l => l.SetMinimumLevel(LogLevel.Error).AddSimpleConsole(), ingress: ingress);
        await host.StartAsync().ConfigureAwait(false);
        var region = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<VirtualSystemRegion>().ConfigureAwait(false);
        foreach (var vs in topology.VirtualSystems)
            await region.Ask<VirtualSystemReplies.Started>(new VirtualSystemCommands.EnsureStarted(vs.Id), TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        return (host, ingress, db);
    }

    private static async Task StopMemberAsync(IHost host, string db)
    {
        await host.StopAsync().ConfigureAwait(false);
        host.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var f in new[] { db, db + "-wal", db + "-shm" })
            File.Delete(f);
    }

    private static async Task<int> RunAsync(TimeSpan duration, int streams)
    {
        Console.WriteLine($"ingress-bench: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, " +
                          $"{duration.TotalSeconds:0} s per phase, {streams} streams, batches of {BatchSize}, {Pipeline} in flight per stream, SQLite");
        var topology = TopologyLoader.Load(Path.Combine(FindRepoRoot(), "hocon", "topology.conf"));
        var (host, ingress, db) = await StartMemberAsync(topology).ConfigureAwait(false);
        try
        {
            var context = host.Services.GetRequiredService<IngressHostContext>();
            var router = await context.RouterAsync(CancellationToken.None).ConfigureAwait(false);

            var (inProcSent, inProcAccepted, inProcSeconds) = await InProcessAsync(router, topology, duration, streams).ConfigureAwait(false);
            var afterInProc = Memory();
            var output = new StringWriter();
            var loadgen = new LoadgenRunner(new LoadgenOptions
            {
                Targets = [ingress.Endpoint],
                Streams = streams,
                Duration = duration,
                Batch = BatchSize,
                Pipeline = Pipeline,
                Seed = 1000,
                Json = true,
            }, output, TextWriter.Null);
            await loadgen.RunAsync(CancellationToken.None).ConfigureAwait(false);
            var report = LoadgenReport.FromJson(output.ToString())!;
            var afterGrpc = Memory();

            var inProcRate = inProcAccepted / inProcSeconds;
            Console.WriteLine($"[1] in-process ingress (IngressRouter, no network): sent {inProcSent / inProcSeconds:N0} pkt/s, accepted {inProcRate:N0} pkt/s ({inProcAccepted:N0} in {inProcSeconds:0.0} s) | {afterInProc}");
            Console.WriteLine($"[2] vsls loadgen over loopback gRPC:               sent {report.PacketsPerSecond:N0} pkt/s, accepted {report.AcceptedPerSecond:N0} pkt/s ({report.Accepted:N0} in {report.Seconds:0.0} s, lost {report.Lost}, unanswered {report.Unanswered}) | {afterGrpc}");
            Console.WriteLine($"[2]/[1] accepted: {report.AcceptedPerSecond / inProcRate:0.00}x; goal >= 2,000,000 accepted pkt/s over gRPC: {(report.AcceptedPerSecond >= 2_000_000 ? "met" : "MISSED")}");
            await IngressOnlyAsync(topology, duration, streams).ConfigureAwait(false);
        }
        finally
        {
            await StopMemberAsync(host, db).ConfigureAwait(false);
        }
        return 0;
    }

    /// <summary>
    /// The same pair with a gateway that answers every batch at once (no VS, no journal): what the
    /// ingress path itself (generator, encode, HTTP/2, decode, classify, group) costs, apart from the VSs.
    /// </summary>
    private static async Task IngressOnlyAsync(Topology topology, TimeSpan duration, int streams)
    {
        var options = new IngressOptions { Port = LocalPorts.Free(1)[0] };
        IVirtualSystemGateway gateway = new ImmediateGateway();
        var builder = VslsWebHost.CreateBuilder(options, _ => new IngressHostContext(options, topology, "bench", _ => Task.FromResult(gateway)));
        builder.Logging.ClearProviders();
        await using var app = builder.Build().MapVslsEndpoints();
        await app.StartAsync().ConfigureAwait(false);
        var router = new IngressRouter(topology, gateway);
        var (_, accepted, secs) = await InProcessAsync(router, topology, duration, streams).ConfigureAwait(false);
        var output = new StringWriter();
        await new LoadgenRunner(new LoadgenOptions
        {
            Targets = [options.Endpoint], Streams = streams, Duration = duration, Batch = BatchSize, Pipeline = Pipeline, Seed = 2000, Json = true,
        }, output, TextWriter.Null).RunAsync(CancellationToken.None).ConfigureAwait(false);
        var report = LoadgenReport.FromJson(output.ToString())!;
        var inProc = accepted / secs;
        Console.WriteLine($"[3] ingress path alone, in-process (VSs replaced by an immediate answer): {inProc:N0} pkt/s");
        Console.WriteLine($"[4] ingress path alone, loadgen over loopback gRPC:                      {report.AcceptedPerSecond:N0} pkt/s | [4]/[3] {report.AcceptedPerSecond / inProc:0.00}x");
        await app.StopAsync().ConfigureAwait(false);
    }

    /// <summary>Every VS accepts every packet at once.</summary>
    private sealed class ImmediateGateway : IVirtualSystemGateway
    {
        public Task<VerdictCounts?> ProcessAsync(VsId vs, Domain.Flows.TimedPacket[] packets, CancellationToken cancellationToken) =>
            Task.FromResult<VerdictCounts?>(new VerdictCounts(packets.Length, 0, 0, 0, 0));

        public Task<VirtualSystemReplies.Connections> ListConnectionsAsync(VsId vs, int limit, CancellationToken cancellationToken) =>
            Task.FromResult(new VirtualSystemReplies.Connections(vs, [], 0));
    }

    private static async Task<(long Sent, long Accepted, double Seconds)> InProcessAsync(IngressRouter router, Topology topology, TimeSpan duration, int streams)
    {
        long sent = 0, accepted = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, streams).Select(i => Task.Run(async () =>
        {
            var generator = new TrafficGenerator(topology, new TrafficOptions { Seed = i + 1, Connections = 10_000 / streams });
            var window = new Queue<Task<RoutedBatch>>();
            while (clock.Elapsed < duration)
            {
                var batch = generator.NextBatch(BatchSize, DateTime.UtcNow.Ticks);
                var records = PacketRecordCodec.Encode(batch);
                Interlocked.Add(ref sent, batch.Count);
                window.Enqueue(router.RouteAsync(records, CancellationToken.None));
                while (window.Count >= Pipeline)
                    Interlocked.Add(ref accepted, (await window.Dequeue().ConfigureAwait(false)).Counts.Accepted);
            }
            while (window.Count > 0)
                Interlocked.Add(ref accepted, (await window.Dequeue().ConfigureAwait(false)).Counts.Accepted);
        }))).ConfigureAwait(false);
        return (sent, accepted, clock.Elapsed.TotalSeconds);
    }

    private static string Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        return $"working set {self.WorkingSet64 / 1048576.0:N0} MiB, managed heap {GC.GetTotalMemory(false) / 1048576.0:N0} MiB";
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VslsActors.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException("run ingress-bench from inside the repository (hocon/topology.conf is read from there)");
    }
}
