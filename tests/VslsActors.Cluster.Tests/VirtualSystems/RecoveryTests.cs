using Akka.Actor;
using Microsoft.Data.Sqlite;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.VirtualSystems;
using VslsActors.Domain.Flows;
using static VslsActors.Cluster.Tests.VirtualSystems.VsHarness;

namespace VslsActors.Cluster.Tests.VirtualSystems;

public sealed class RecoveryTests
{
    [Fact]
    public async Task Synced_connections_survive_a_restart_and_keep_flowing_without_out_of_state_drops()
    {
        await using var harness = new VsHarness();
        await RecoveryStory(harness);
    }

    [Fact]
    public async Task Recovery_uses_the_checkpoint_written_after_n_deltas_plus_the_deltas_after_it()
    {
        await using var harness = new VsHarness();
        var first = harness.Start();
        var vs = StartVs(first, settings: Settings(checkpointEvery: 10));

        // 25 immediate-sync connections, one batch each: 25 Opened deltas → checkpoints after 10 and 20.
        for (var c = 1; c <= 25; c++)
            await Send(vs, Tcp(c, 80, TcpFlags.Syn));
        var status = await AwaitStatus(vs, s => s.CheckpointsWritten >= 2, "two checkpoints");
        Assert.Equal(25, status.DeltasJournaled);
        // What the metrics show as checkpoint age and size, and journal lag (every delta is durable by now).
        Assert.InRange(status.LastCheckpointConnections!.Value, 20, 25);
        Assert.InRange(status.LastCheckpointAtTicks!.Value, DateTime.UtcNow.AddMinutes(-1).Ticks, DateTime.UtcNow.Ticks);
        Assert.Equal(0, status.DeltasNotDurable);
        await Stop(first);

        // The snapshot table holds at most checkpoints-kept (2) checkpoints, the newest covering ≥ 20 deltas.
        await using (var db = new SqliteConnection($"Data Source={harness.File}"))
        {
            await db.OpenAsync();
            await using var cmd = db.CreateCommand();
            cmd.CommandText = "select count(*), max(sequence_number) from snapshot where persistence_id = 'vs-1'";
            await using var reader = await cmd.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.InRange(reader.GetInt64(0), 1, 2);
            Assert.InRange(reader.GetInt64(1), 20, 25);
        }

        var second = harness.Start();
        var recovered = StartVs(second, settings: Settings(checkpointEvery: 10));
        status = await Status(recovered);
        Assert.Equal(25, status.RecoveredConnections);
        Assert.InRange(status.LastCheckpointConnections!.Value, 20, 25); // the checkpoint it recovered from
        Assert.Equal(25, status.Connections);
        Assert.Equal(0, status.LiveConnectionActors); // rebuilt lazily: actors come back with traffic
        // Every recovered connection accepts its SYN-ACK: the handshake state came back too.
        var replies = new TimedPacket[25];
        for (var c = 1; c <= 25; c++)
            replies[c - 1] = Tcp(c, 80, TcpFlags.Syn | TcpFlags.Ack, fromServer: true);
        var counts = await Send(recovered, replies);
        Assert.Equal(25, counts.Accepted);
        Assert.Equal(25, (await Status(recovered)).LiveConnectionActors);
    }

    [Fact]
    public async Task Hand_off_stop_answers_the_started_batches_with_their_deltas_durable_then_stops()
    {
        await using var harness = new VsHarness();
        var first = harness.Start();
        var vs = StartVs(first);
        // Five established connections with actors, so the next batch waits for children too.
        for (var c = 1; c <= 5; c++)
            await SendEach(vs, Handshake(c, 80));

        var batch = new List<TimedPacket>();
        for (var c = 1; c <= 5; c++)
            batch.Add(Tcp(c, 80, TcpFlags.Ack | TcpFlags.Psh));
        for (var c = 100; c < 300; c++)
            batch.Add(Tcp(c, 80, TcpFlags.Syn)); // 200 immediate-sync opens: deltas to journal
        var reply = vs.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(Id, [.. batch]), TimeSpan.FromSeconds(20));
        var stopped = vs.WatchAsync();
        vs.Tell(VirtualSystemActor.HandOffStop.Instance); // right behind the batch, as a shard's hand-off sends it

        // A PoisonPill here stopped the VS before its children and the journal answered: no reply.
        Assert.Equal(205, (await reply).Counts.Accepted);
        Assert.True(await stopped);

        // The next incarnation (the Standby, after the hand-off) has every connection the reply covered.
        var recovered = StartVs(harness.Start());
        Assert.Equal(205, (await Status(recovered)).RecoveredConnections);
        await Stop(first);
    }

    [Fact]
    public async Task A_stale_incarnation_stops_when_the_vss_new_home_has_written_the_journal()
    {
        await using var harness = new VsHarness();
        var stale = StartVs(harness.Start());
        Assert.Equal(1, (await Send(stale, Tcp(1, 80, TcpFlags.Syn))).Accepted); // event 1

        // The VS moved (say its member was downed but has not noticed yet): the new incarnation
        // recovers event 1 and writes event 2.
        var current = StartVs(harness.Start());
        Assert.Equal(1, (await Status(current)).RecoveredConnections);
        Assert.Equal(1, (await Send(current, Tcp(2, 80, TcpFlags.Syn))).Accepted);

        // The stale incarnation still takes traffic; its next delta is event 2 too. The journal's
        // unique key refuses it, the read-back finds another payload there: it must stop, not go on
        // believing its deltas are durable.
        var stopped = stale.WatchAsync();
        stale.Tell(new VirtualSystemCommands.ProcessPackets(Id, [Tcp(3, 80, TcpFlags.Syn)]));
        Assert.True(await stopped.WaitAsync(TimeSpan.FromSeconds(15)));

        var third = StartVs(harness.Start());
        var status = await Status(third);
        Assert.Equal(2, status.RecoveredConnections); // connections 1 and 2; the stale one's 3 never became durable
    }

    /// <summary>
    /// Shared with the PostgreSQL test: immediate, delayed (old enough and too young) and unsynced
    /// connections, a restart, then traffic on each.
    /// </summary>
    internal static async Task RecoveryStory(VsHarness harness)
    {
        var first = harness.Start();
        var vs = StartVs(first);

        // 1: immediate sync, established. 2: delayed sync, first seen 60 s ago (older than the 30 s
        // delay), established now. 3: delayed sync, young. 4: UDP with no sync, answered.
        await SendEach(vs, Handshake(1, 80));
        await SendEach(vs, Handshake(2, 8080, synAt: Now - TimeSpan.FromSeconds(60).Ticks));
        await SendEach(vs, Handshake(3, 8080));
        await SendEach(vs, Udp(4, 53), Udp(4, 53, fromServer: true));
        // 1: Opened+Established; 2: Opened at the sweep or at its Established report, then Established.
        await AwaitStatus(vs, s => s.DeltasJournaled == 4, "the deltas of the two synced connections");
        var before = await Status(vs);
        Assert.Equal(4, before.Connections);
        await Stop(first);

        var second = harness.Start();
        var recovered = StartVs(second);
        var status = await Status(recovered);
        Assert.Equal(2, status.RecoveredConnections);

        // The synced connections carry on where they were: data both ways, no out-of-state drop.
        var counts = await Send(recovered,
            Tcp(1, 80, TcpFlags.Ack | TcpFlags.Psh), Tcp(1, 80, TcpFlags.Ack, fromServer: true),
            Tcp(2, 8080, TcpFlags.Ack | TcpFlags.Psh), Tcp(2, 8080, TcpFlags.Ack, fromServer: true));
        Assert.Equal(4, counts.Accepted);
        Assert.Equal(0, counts.OutOfState);

        // The young delayed connection and the unsynced one were lost: their packets are out of state
        // (TCP ACK) or a new first packet that the policy sees (the UDP reply from port 53 to a client port).
        counts = await Send(recovered, Tcp(3, 8080, TcpFlags.Ack));
        Assert.Equal(1, counts.OutOfState);
        counts = await Send(recovered, Udp(4, 53, fromServer: true));
        Assert.Equal(0, counts.Accepted);
        await Stop(second);
    }
}

public sealed class PostgreSqlRecoveryTests
{
    [Fact]
    public async Task Synced_connections_survive_a_restart_on_postgresql()
    {
        // VSLS_TEST_POSTGRES, or the machine's PostgreSQL started by .ci/postgres-up; never skipped.
        var connectionString = VslsActors.TestSupport.PostgresTestServer.ConnectionString;

        // A persistence id of its own per run, so the shared database needs no cleanup between runs.
        await ClearVs(connectionString!);
        await using var harness = new VsHarness(new DatabaseOptions(DatabaseProvider.PostgreSql, connectionString!));
        await RecoveryTests.RecoveryStory(harness);
    }

    private static async Task ClearVs(string connectionString)
    {
        // The tables exist once any test has run; on a fresh database there is nothing to clear.
        await using var db = new Npgsql.NpgsqlConnection(connectionString);
        await db.OpenAsync();
        foreach (var table in new[] { "journal", "snapshot", "tags" })
        {
            await using var cmd = db.CreateCommand();
            cmd.CommandText = table == "tags"
                ? "delete from tags where persistence_id = 'vs-1'"
                : $"delete from {table} where persistence_id = 'vs-1'";
            try { await cmd.ExecuteNonQueryAsync(); }
            catch (Npgsql.PostgresException e) when (e.SqlState == "42P01" || e.SqlState == "42703") { }
        }
    }
}
