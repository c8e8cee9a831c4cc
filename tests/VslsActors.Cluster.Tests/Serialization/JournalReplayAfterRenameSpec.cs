using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Serialization;

namespace VslsActors.Cluster.Tests.Serialization;

/// <summary>
/// A journal and a checkpoint written through Akka.Persistence.Sql on SQLite by the production
/// wiring are replayed by a later build in which the event and snapshot classes have been renamed
/// (and moved to another assembly): the stored manifest, not a CLR type name, says how to read
/// them. The raw rows show that only the manifests and the serializer id are stored, so the test
/// fails as soon as persisted data goes back to a serializer that writes type names.
/// </summary>
public sealed class JournalReplayAfterRenameSpec : IAsyncLifetime
{
    private const string PersistenceId = "vs-42";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private readonly string _databaseFile = Path.Combine(Path.GetTempPath(), $"vsls-tests-{Guid.NewGuid():N}.db");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        foreach (var file in new[] { _databaseFile, _databaseFile + "-wal", _databaseFile + "-shm", _databaseFile + "-journal" })
            File.Delete(file);
        return Task.CompletedTask;
    }

    /// <summary>What a later build calls the event after a rename (and a move to another assembly).</summary>
    public sealed record RenamedConnectionDeltas(ImmutableArray<ConnectionDelta> Deltas);

    /// <summary>What a later build calls the checkpoint after a rename.</summary>
    public sealed record RenamedCheckpoint(ImmutableArray<ConnectionRecord> Connections, long TakenAtTicks);

    /// <summary>The later build's serializer: same id, same manifests, the renamed classes behind them.</summary>
    private sealed class RenamedTypesSerializer(ExtendedActorSystem system) : VslsPersistenceSerializer(system)
    {
        protected override object CreateConnectionDeltas(ImmutableArray<ConnectionDelta> deltas) => new RenamedConnectionDeltas(deltas);

        protected override object CreateCheckpoint(ImmutableArray<ConnectionRecord> connections, long takenAtTicks) =>
            new RenamedCheckpoint(connections, takenAtTicks);
    }

    private static ConnectionDeltas Batch(int first) => new(
    [
        new ConnectionDelta(DeltaKind.Opened, Samples.Record(first, "allow-web")),
        new ConnectionDelta(DeltaKind.Established, Samples.Record(first + 1, "allow-dns", ipv6: true)),
    ]);

    private static readonly ConnectionDeltas[] Events = [Batch(0), Batch(10), Batch(20)];

    private static readonly VsCheckpoint Checkpoint =
        new([Samples.Record(0, "allow-web"), Samples.Record(11, "allow-dns", ipv6: true)], TakenAtTicks: 638_000_000_000_000_000);

    /// <summary>Persists two batches, checkpoints, persists a third: the shape of a VS's journal.</summary>
    private sealed class JournalWriter : ReceivePersistentActor
    {
        public override string PersistenceId => JournalReplayAfterRenameSpec.PersistenceId;

        public JournalWriter(TaskCompletionSource done)
        {
            Command<string>(_ =>
            {
                Persist(Events[0], _ => { });
                Persist(Events[1], _ => SaveSnapshot(Checkpoint));
            });
            Command<SaveSnapshotSuccess>(_ => Persist(Events[2], _ => done.TrySetResult()));
            Command<SaveSnapshotFailure>(f => done.TrySetException(f.Cause));
            _done = done;
        }

        private readonly TaskCompletionSource _done;

        protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
        {
            _done.TrySetException(cause);
            base.OnPersistFailure(cause, @event, sequenceNr);
        }

        protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
        {
            _done.TrySetException(cause);
            base.OnPersistRejected(cause, @event, sequenceNr);
        }
    }

    /// <summary>Recovers and hands over everything it was offered, in order.</summary>
    private sealed class RenamedReader : ReceivePersistentActor
    {
        private readonly List<object> _recovered = [];
        private readonly TaskCompletionSource<IReadOnlyList<object>> _done;

        public override string PersistenceId => JournalReplayAfterRenameSpec.PersistenceId;

        public override Recovery Recovery { get; }

        public RenamedReader(bool fromCheckpoint, TaskCompletionSource<IReadOnlyList<object>> done)
        {
            _done = done;
            Recovery = fromCheckpoint ? Recovery.Default : new Recovery(SnapshotSelectionCriteria.None);
            Recover<SnapshotOffer>(offer => _recovered.Add(offer.Snapshot));
            Recover<RecoveryCompleted>(_ => done.TrySetResult(_recovered));
            Recover<object>(e => _recovered.Add(e));
        }

        protected override void OnRecoveryFailure(Exception reason, object? message = null)
        {
            _done.TrySetException(reason);
            base.OnRecoveryFailure(reason, message);
        }
    }

    private Config PersistenceHocon() => ConfigurationFactory.ParseString($$"""
        akka.persistence {
          journal {
            plugin = "akka.persistence.journal.sql"
            sql {
              class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
              connection-string = "Data Source={{_databaseFile}}"
              provider-name = "SQLite.MS"
              auto-initialize = on
              parallelism = 1
            }
          }
          snapshot-store {
            plugin = "akka.persistence.snapshot-store.sql"
            sql {
              class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
              connection-string = "Data Source={{_databaseFile}}"
              provider-name = "SQLite.MS"
              auto-initialize = on
            }
          }
        }
        """);

    [Fact]
    public async Task A_journal_written_before_the_event_classes_were_renamed_replays_by_manifest()
    {
        // 1. Today's build writes the journal and a checkpoint.
        await using (var writer = await HostedSystem.StartAsync("journal-writer",
                         b => b.AddHocon(PersistenceHocon(), HoconAddMode.Prepend).AddVslsSerialization()))
        {
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            writer.System.ActorOf(Props.Create(() => new JournalWriter(written)), "writer").Tell("write");
            await written.Task.WaitAsync(Timeout);
        }

        // 2. What is stored: manifests and the serializer id, no CLR type names.
        AssertStoredRowsCarryManifestsOnly();

        // 3. A later build, whose classes are called differently, replays it.
        await using var reader = await HostedSystem.StartAsync("journal-reader",
            b => b.AddHocon(PersistenceHocon(), HoconAddMode.Prepend)
                .AddVslsSerialization(system => new RenamedTypesSerializer(system)));

        var fromCheckpoint = await RecoverAsync(reader.System, fromCheckpoint: true, "from-checkpoint");
        Assert.Equal(2, fromCheckpoint.Count);
        var checkpoint = Assert.IsType<RenamedCheckpoint>(fromCheckpoint[0]);
        Assert.Equal(Checkpoint.TakenAtTicks, checkpoint.TakenAtTicks);
        Samples.AssertDeepEqual(Checkpoint.Connections, checkpoint.Connections, "checkpoint");
        Samples.AssertDeepEqual(Events[2].Deltas, Assert.IsType<RenamedConnectionDeltas>(fromCheckpoint[1]).Deltas, "event 3");

        var everything = await RecoverAsync(reader.System, fromCheckpoint: false, "all-events");
        Assert.Equal(Events.Length, everything.Count);
        for (var i = 0; i < Events.Length; i++)
            Samples.AssertDeepEqual(Events[i].Deltas, Assert.IsType<RenamedConnectionDeltas>(everything[i]).Deltas, $"event {i + 1}");
    }

    private static async Task<IReadOnlyList<object>> RecoverAsync(ActorSystem system, bool fromCheckpoint, string name)
    {
        var done = new TaskCompletionSource<IReadOnlyList<object>>(TaskCreationOptions.RunContinuationsAsynchronously);
        system.ActorOf(Props.Create(() => new RenamedReader(fromCheckpoint, done)), name);
        return await done.Task.WaitAsync(Timeout);
    }

    private void AssertStoredRowsCarryManifestsOnly()
    {
        using var connection = new SqliteConnection($"Data Source={_databaseFile}");
        connection.Open();

        using (var journal = connection.CreateCommand())
        {
            journal.CommandText = "SELECT sequence_number, manifest, identifier, message FROM journal WHERE persistence_id = $id ORDER BY sequence_number";
            journal.Parameters.AddWithValue("$id", PersistenceId);
            using var rows = journal.ExecuteReader();
            var count = 0;
            while (rows.Read())
            {
                count++;
                Assert.Equal(VslsPersistenceSerializer.DeltasManifest, rows.GetString(1));
                Assert.Equal(VslsPersistenceSerializer.SerializerId, rows.GetInt32(2));
                AssertNoTypeNames((byte[])rows[3], $"journal row {rows.GetInt64(0)}");
            }
            Assert.Equal(Events.Length, count);
        }

        using (var snapshot = connection.CreateCommand())
        {
            snapshot.CommandText = "SELECT manifest, serializer_id, snapshot FROM snapshot WHERE persistence_id = $id";
            snapshot.Parameters.AddWithValue("$id", PersistenceId);
            using var rows = snapshot.ExecuteReader();
            Assert.True(rows.Read(), "no snapshot row was written");
            Assert.Equal(VslsPersistenceSerializer.CheckpointManifest, rows.GetString(0));
            Assert.Equal(VslsPersistenceSerializer.SerializerId, rows.GetInt32(1));
            AssertNoTypeNames((byte[])rows[2], "snapshot row");
            Assert.False(rows.Read(), "more than one snapshot row");
        }
    }

    private static void AssertNoTypeNames(byte[] payload, string where)
    {
        var text = Encoding.Latin1.GetString(payload);
        foreach (var name in new[] { "VslsActors", nameof(ConnectionDeltas), nameof(VsCheckpoint), "ConnectionRecord", "System." })
            Assert.False(text.Contains(name, StringComparison.Ordinal), $"{where} contains the type name fragment '{name}'");
    }
}
