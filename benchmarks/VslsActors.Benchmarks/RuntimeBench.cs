using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Persistence;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Serialization;
using VslsActors.Cluster.VirtualSystems;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

namespace VslsActors.Benchmarks;

/// <summary>
/// The runtime figures of issue 3 that do not fit BenchmarkDotNet's invocation model (each needs a
/// database that grows, an actor system that is stopped and restarted, or a whole-process heap
/// measurement): new connections/s through one VS journaled to SQLite and PostgreSQL, connections
/// restored/s on recovery, and managed heap per tracked connection. Each figure is printed beside a
/// baseline measured in the same run (a single-threaded <c>Dictionary&lt;FlowKey, ConnectionState&gt;</c>
/// conntrack over the same packets) and their ratio. Run with
/// <c>dotnet run -c Release --project benchmarks/VslsActors.Benchmarks -- runtime-bench [sqlite|postgres|memory]...</c>;
/// PostgreSQL is measured when <c>VSLS_TEST_POSTGRES</c> holds a connection string (<c>.ci/postgres-up</c> prints one).
/// </summary>
internal static class RuntimeBench
{
    private const int BatchSize = 256;
    private const int InFlight = 16;
    private const int Connections = 200_000;
    private const int CheckpointEvery = 150_000;
    private const int MemoryConnections = 1_000_000;
    private const int MemoryVsCount = 12;

    private static readonly MemberName Member = new("member-1");
    private static readonly NetAddress Server = NetAddress.Parse("192.168.1.10");

    public static int Run(string[] args)
    {
        var what = args.Length == 0 ? ["sqlite", "postgres", "inmem", "memory"] : args;
        Console.WriteLine($"runtime-bench: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, " +
                          $"{System.Runtime.InteropServices.RuntimeInformation.OSDescription}, server GC = {System.Runtime.GCSettings.IsServerGC}");
        foreach (var w in what)
        {
            switch (w)
            {
                case "sqlite":
                    Database(new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={Path.Combine(Path.GetTempPath(), $"vsls-bench-{Guid.NewGuid():N}.db")}"));
                    break;
                case "postgres":
                    var pg = Environment.GetEnvironmentVariable("VSLS_TEST_POSTGRES");
                    if (string.IsNullOrWhiteSpace(pg))
                        Console.WriteLine("postgres: skipped (set VSLS_TEST_POSTGRES; `bash .ci/postgres-up` prints the connection string)");
                    else
                        Database(new DatabaseOptions(DatabaseProvider.PostgreSql, pg));
                    break;
                case "memory":
                    Memory();
                    break;
                case "inmem":
                    InMemoryOpens(SyncMode.Immediate);
                    InMemoryOpens(SyncMode.None);
                    break;
                default:
                    Console.Error.WriteLine($"runtime-bench: unknown figure '{w}' (sqlite, postgres, inmem, memory)");
                    return 2;
            }
        }
        return 0;
    }

    // ------------------------------------------------------------------ 1 + 2: journaled opens, recovery

    private static void Database(DatabaseOptions requested)
    {
        var name = requested.Provider == DatabaseProvider.Sqlite ? "sqlite" : "postgres";
        // A fresh database per run, so recovery reads exactly this run's checkpoint and deltas.
        var database = requested.Provider == DatabaseProvider.PostgreSql ? CreatePostgresDatabase(requested) : requested;
        try
        {
            var error = VslsPersistence.CheckReachable(database);
            if (error is not null)
                throw new InvalidOperationException(error);

            var id = new VsId(1);
            var config = VsConfig(id, SyncMode.Immediate, Connections * 2);
            var settings = new VirtualSystemSettings
            {
                CheckpointEveryDeltas = CheckpointEvery,
                CheckpointInterval = TimeSpan.FromMinutes(10),
                PassivateAfter = TimeSpan.FromMinutes(10),
            };
            var batches = SynBatches(Connections, 0);

            var baseline = BaselineOpen(batches);

            var system = StartSystem(database, "bench-" + name + "-1");
            var vs = system.ActorOf(VirtualSystemActor.Props(config, Member, settings), "vs-1");
            Status(vs, id); // recovered (empty) and ready
            var sw = Stopwatch.StartNew();
            var accepted = SendAll(vs, batches);
            sw.Stop();
            if (accepted != Connections)
                throw new InvalidOperationException($"{name}: {accepted} of {Connections} SYNs accepted");
            var openRate = Connections / sw.Elapsed.TotalSeconds;
            var status = AwaitStatus(vs, id, s => s.CheckpointsWritten >= 1, TimeSpan.FromSeconds(60));
            Console.WriteLine($"[1] {name}: new connections/s through one VS (SYN batches of {BatchSize}, {InFlight} Asks in flight, sync immediate, {Connections:N0} connections): " +
                              $"{openRate:N0}/s ({sw.Elapsed.TotalSeconds:F2} s; deltas journaled {status.DeltasJournaled:N0}, checkpoints {status.CheckpointsWritten}, journal failures {status.JournalFailures}) | " +
                              $"baseline Dictionary conntrack {baseline:N0}/s | ratio {openRate / baseline:F4} (1/{baseline / openRate:N0})");
            system.Terminate().Wait();

            // 2: a new system on the same database; from creating the VS actor to its first status reply.
            var restoreBaseline = BaselineRestore(batches);
            var system2 = StartSystem(database, "bench-" + name + "-2");
            // Warm the journal and snapshot plugins (table checks, connection pool) on another id so
            // the figure is the VS's recovery, not the plugins' first start.
            var warm = system2.ActorOf(VirtualSystemActor.Props(VsConfig(new VsId(2), SyncMode.Immediate, 10), Member, settings), "vs-2");
            Status(warm, new VsId(2));
            sw.Restart();
            var vs2 = system2.ActorOf(VirtualSystemActor.Props(config, Member, settings), "vs-1");
            var recovered = Status(vs2, id);
            sw.Stop();
            var restoreRate = recovered.RecoveredConnections / sw.Elapsed.TotalSeconds;
            Console.WriteLine($"[2] {name}: connections restored/s (checkpoint of {CheckpointEvery:N0} + {Connections - CheckpointEvery:N0} later deltas): " +
                              $"{recovered.RecoveredConnections:N0} in {sw.Elapsed.TotalSeconds:F2} s = {restoreRate:N0}/s | " +
                              $"baseline Dictionary rebuild {restoreBaseline:N0}/s | ratio {restoreRate / restoreBaseline:F4}");
            if (recovered.RecoveredConnections != Connections)
                Console.WriteLine($"[2] {name}: PROBLEM: recovered {recovered.RecoveredConnections:N0} of {Connections:N0} journaled connections");
            system2.Terminate().Wait();
        }
        finally
        {
            if (database.Provider == DatabaseProvider.PostgreSql)
                DropPostgresDatabase(requested, database);
            else
                DeleteSqlite(database);
        }
    }

    /// <summary>Sends the batches keeping <see cref="InFlight"/> Asks outstanding; returns the accepted count.</summary>
    private static long SendAll(IActorRef vs, VirtualSystemCommands.ProcessPackets[] batches)
    {
        long accepted = 0;
        var pending = new Queue<Task<VirtualSystemReplies.PacketVerdicts>>();
        foreach (var b in batches)
        {
            if (pending.Count == InFlight)
                accepted += pending.Dequeue().Result.Counts.Accepted;
            pending.Enqueue(vs.Ask<VirtualSystemReplies.PacketVerdicts>(b, TimeSpan.FromMinutes(2)));
        }
        while (pending.Count > 0)
            accepted += pending.Dequeue().Result.Counts.Accepted;
        return accepted;
    }

    /// <summary>The agreed baseline: the same SYNs opened in a single-threaded dictionary conntrack, best of 3.</summary>
    private static double BaselineOpen(VirtualSystemCommands.ProcessPackets[] batches)
    {
        var best = double.MaxValue;
        long n = 0;
        for (var round = 0; round < 3; round++)
        {
            var table = new Dictionary<FlowKey, ConnectionState>();
            var sw = Stopwatch.StartNew();
            n = 0;
            foreach (var b in batches)
            {
                foreach (ref readonly var p in b.Packets.AsSpan())
                {
                    var key = FlowKey.FromPacket(p.Header);
                    ref var state = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(table, key, out var exists);
                    if (!exists)
                    {
                        state = ConnectionStateMachine.Open(p.Header, p.Timestamp);
                        n++;
                    }
                }
            }
            sw.Stop();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return n / best;
    }

    /// <summary>Baseline for recovery: the same connections' states inserted into a fresh dictionary, best of 3.</summary>
    private static double BaselineRestore(VirtualSystemCommands.ProcessPackets[] batches)
    {
        var records = new List<(FlowKey, ConnectionState)>();
        foreach (var b in batches)
        {
            foreach (var p in b.Packets)
                records.Add((FlowKey.FromPacket(p.Header), ConnectionStateMachine.Open(p.Header, p.Timestamp)));
        }
        var best = double.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            var sw = Stopwatch.StartNew();
            var table = new Dictionary<FlowKey, ConnectionState>();
            foreach (var (k, s) in records)
                table[k] = s;
            sw.Stop();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return records.Count / best;
    }

    /// <summary>
    /// Figure 1 without a database (in-memory journal), to split the cost between the actor
    /// pipeline (a connection actor per SYN) and the journal.
    /// </summary>
    private static void InMemoryOpens(SyncMode sync)
    {
        var id = new VsId(1);
        var batches = SynBatches(Connections, 0);
        var baseline = BaselineOpen(batches);
        var system = ActorSystem.Create("bench-inmem", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """));
        try
        {
            var settings = new VirtualSystemSettings { CheckpointEveryDeltas = CheckpointEvery, CheckpointInterval = TimeSpan.FromMinutes(10), PassivateAfter = TimeSpan.FromMinutes(10) };
            var vs = system.ActorOf(VirtualSystemActor.Props(VsConfig(id, sync, Connections * 2), Member, settings), "vs-1");
            Status(vs, id);
            var sw = Stopwatch.StartNew();
            var accepted = SendAll(vs, batches);
            sw.Stop();
            var rate = accepted / sw.Elapsed.TotalSeconds;
            var status = Status(vs, id);
            Console.WriteLine($"[1'] in-memory journal, sync {sync}: new connections/s through one VS: {rate:N0}/s ({sw.Elapsed.TotalSeconds:F2} s, deltas journaled {status.DeltasJournaled:N0}) | " +
                              $"baseline Dictionary conntrack {baseline:N0}/s | ratio {rate / baseline:F4}");
        }
        finally
        {
            system.Terminate().Wait();
        }
    }

    // ------------------------------------------------------------------ 3: heap per connection

    private static void Memory()
    {
        var perVs = MemoryConnections / MemoryVsCount;
        var total = perVs * MemoryVsCount;

        // Baseline: the same connections in one Dictionary<FlowKey, ConnectionState>.
        var before0 = GC.GetTotalMemory(true);
        var table = new Dictionary<FlowKey, ConnectionState>();
        for (var v = 0; v < MemoryVsCount; v++)
        {
            foreach (var b in SynBatches(perVs, v * perVs, new VsId(v + 1)))
            {
                foreach (var p in b.Packets)
                    table[FlowKey.FromPacket(p.Header)] = ConnectionStateMachine.Open(p.Header, p.Timestamp);
            }
        }
        var baselineBytes = (double)(GC.GetTotalMemory(true) - before0) / table.Count;
        GC.KeepAlive(table);
        table = null;

        Console.WriteLine($"[3] heap per connection, {total:N0} connections in {MemoryVsCount} VSs (in-memory journal, policy sync = none so nothing is journaled):");
        // Two runs (the passivated one first: terminating a system of 1,000,000 live actors outlasts
        // its shutdown timeout, which would skew a later baseline): one that passivates after 1 s
        // and waits until no connection actor is left, one that keeps every actor alive (1 h).
        foreach (var passivate in new[] { true, false })
        {
            var (bytes, live, tracked, rate, waited) = MemoryRun(perVs, passivate);
            // Since the open path, a connection that only sent its SYN is a record with no actor, so the
            // second run shows how many actors there are instead of assuming every connection has one.
            var label = passivate ? $"passivated ({live:N0} live actors left after {waited:F1} s)" : $"not passivated ({live:N0} connection actors)";
            Console.WriteLine($"[3]   {label}, {tracked:N0} tracked, opened at {rate:N0}/s: {bytes:N0} B/connection | " +
                              $"baseline Dictionary<FlowKey, ConnectionState> {baselineBytes:N0} B/entry | ratio {bytes / baselineBytes:F1}");
        }
    }

    private static (double Bytes, int Live, int Tracked, double Rate, double Waited) MemoryRun(int perVs, bool passivate)
    {
        var total = perVs * MemoryVsCount;
        var system = ActorSystem.Create("bench-memory", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """));
        try
        {
            var settings = new VirtualSystemSettings
            {
                PassivateAfter = passivate ? TimeSpan.FromSeconds(1) : TimeSpan.FromHours(1),
                SweepInterval = TimeSpan.FromMilliseconds(250),
                CheckpointInterval = TimeSpan.FromMinutes(10),
            };
            var vss = new IActorRef[MemoryVsCount];
            var all = new VirtualSystemCommands.ProcessPackets[MemoryVsCount][];
            for (var v = 0; v < MemoryVsCount; v++)
            {
                var id = new VsId(v + 1);
                vss[v] = system.ActorOf(VirtualSystemActor.Props(VsConfig(id, SyncMode.None, perVs * 2), Member, settings), $"vs-{v + 1}");
                Status(vss[v], id);
                all[v] = SynBatches(perVs, v * perVs, id);
            }
            // Measured with the packets still referenced, so they are on both sides of the delta.
            var empty = GC.GetTotalMemory(true);

            var sw = Stopwatch.StartNew();
            var tasks = new Task<long>[MemoryVsCount];
            for (var v = 0; v < MemoryVsCount; v++)
            {
                var vs = vss[v];
                var batches = all[v];
                tasks[v] = Task.Run(() => SendAll(vs, batches));
            }
            long accepted = 0;
            foreach (var t in tasks)
                accepted += t.Result;
            sw.Stop();
            if (accepted != total)
                throw new InvalidOperationException($"memory: {accepted} of {total} SYNs accepted");

            var waited = Stopwatch.StartNew();
            int live;
            while (true)
            {
                live = 0;
                for (var v = 0; v < MemoryVsCount; v++)
                    live += Status(vss[v], new VsId(v + 1)).LiveConnectionActors;
                if (!passivate || live == 0 || waited.Elapsed > TimeSpan.FromSeconds(120))
                    break;
                Thread.Sleep(500);
            }
            var tracked = 0;
            for (var v = 0; v < MemoryVsCount; v++)
                tracked += Status(vss[v], new VsId(v + 1)).Connections;
            var bytes = (double)(GC.GetTotalMemory(true) - empty) / tracked;
            GC.KeepAlive(all);
            return (bytes, live, tracked, total / sw.Elapsed.TotalSeconds, waited.Elapsed.TotalSeconds);
        }
        finally
        {
            system.Terminate().Wait();
        }
    }

    // ------------------------------------------------------------------ helpers

    // TCP start timeout of an hour: the benchmarks open SYN-only connections over minutes and must
    // measure them tracked, not expired at the default 25 s.
    private static VirtualSystemConfig VsConfig(VsId id, SyncMode sync, int maxConnections)
    {
        var policy = new PolicyDefinition(ImmutableDictionary<string, ImmutableArray<AddressItem>>.Empty,
            [new PolicyRule("any", AddressCell.Any, AddressCell.Any, ServiceCell.Any, RuleAction.Accept, TrackMode.None, sync)]);
        return new VirtualSystemConfig(id, $"vs{id.Value}", 10, [Member], policy, ConnectionTimeouts.Default with { TcpStart = TimeSpan.FromHours(1) }, maxConnections,
            TimeSpan.FromSeconds(3), [], []);
    }

    /// <summary><paramref name="count"/> SYNs of distinct flows (clients 10.x.y.z from <paramref name="first"/> on), in batches.</summary>
    private static VirtualSystemCommands.ProcessPackets[] SynBatches(int count, int first, VsId? vs = null)
    {
        var id = vs ?? new VsId(1);
        var now = DateTime.UtcNow.Ticks;
        var batches = new VirtualSystemCommands.ProcessPackets[(count + BatchSize - 1) / BatchSize];
        for (var b = 0; b < batches.Length; b++)
        {
            var packets = new TimedPacket[Math.Min(BatchSize, count - b * BatchSize)];
            for (var i = 0; i < packets.Length; i++)
            {
                var n = first + b * BatchSize + i;
                packets[i] = new TimedPacket(now, PacketHeader.Tcp(NetAddress.FromIPv4(0x0A000000u + (uint)n), (ushort)(1024 + n % 50000), Server, 443, TcpFlags.Syn, 60));
            }
            batches[b] = new VirtualSystemCommands.ProcessPackets(id, packets);
        }
        return batches;
    }

    private static ActorSystem StartSystem(DatabaseOptions database, string name) =>
        ActorSystem.Create(name, VslsPersistence.StandaloneSetup(database, ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            """)));

    private static VirtualSystemReplies.Status Status(IActorRef vs, VsId id) =>
        vs.Ask<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(id), TimeSpan.FromMinutes(2)).Result;

    private static VirtualSystemReplies.Status AwaitStatus(IActorRef vs, VsId id, Func<VirtualSystemReplies.Status, bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        VirtualSystemReplies.Status status;
        while (!condition(status = Status(vs, id)) && sw.Elapsed < timeout)
            Thread.Sleep(50);
        return status;
    }

    private static DatabaseOptions CreatePostgresDatabase(DatabaseOptions admin)
    {
        var name = $"vsls_bench_{Guid.NewGuid():N}";
        using (var connection = new Npgsql.NpgsqlConnection(admin.ConnectionString))
        {
            connection.Open();
            using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", connection);
            command.ExecuteNonQuery();
        }
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(admin.ConnectionString) { Database = name };
        return new DatabaseOptions(DatabaseProvider.PostgreSql, builder.ConnectionString);
    }

    private static void DropPostgresDatabase(DatabaseOptions admin, DatabaseOptions bench)
    {
        if (admin.ConnectionString == bench.ConnectionString)
            return;
        Npgsql.NpgsqlConnection.ClearAllPools();
        var name = new Npgsql.NpgsqlConnectionStringBuilder(bench.ConnectionString).Database;
        using var connection = new Npgsql.NpgsqlConnection(admin.ConnectionString);
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", connection);
        command.ExecuteNonQuery();
    }

    private static void DeleteSqlite(DatabaseOptions database)
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(database.ConnectionString).DataSource;
        foreach (var f in new[] { file, file + "-wal", file + "-shm" })
        {
            try { File.Delete(f); } catch (IOException) { }
        }
    }
}
