using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Persistence;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.VirtualSystems;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Topology;

namespace VslsActors.Cli.Replay;

/// <summary>
/// The embedded member of <c>vsls replay --embedded</c>: an in-process ActorSystem built with
/// <see cref="VslsPersistence.StandaloneSetup"/> on a SQLite file in a new temporary directory
/// (deleted when the sink is disposed), one <see cref="VirtualSystemActor"/> per VS, the same actor
/// a member runs. Each VS has at most <see cref="InFlightPerVs"/> batches unanswered.
/// </summary>
/// <remarks>
/// SQLite rather than the in-memory journal: the deltas of a long capture (one per opened and
/// closed connection) would otherwise all stay on the heap until the end, and this way the replay
/// runs the journal path a member runs. Checkpoints are effectively off (nothing recovers from
/// this journal). The table is listed with <see cref="VirtualSystemQueries.ListConnections"/>, which is
/// exact: the VS asks its live connection actors for their current counters before it answers.
/// </remarks>
public sealed class EmbeddedReplaySink : IReplaySink
{
    /// <summary>Batches a VS may have unanswered before <see cref="SendAsync"/> waits.</summary>
    public const int InFlightPerVs = 8;

    private static readonly TimeSpan AskTimeout = TimeSpan.FromMinutes(2);
    private static readonly MemberName Member = new("replay");

    // One producer (the replay's loop) sends and collects: the in-flight bound is a queue of the asks
    // unanswered, oldest first, with no lock or semaphore between the producer and the threads that
    // answer. (A SemaphoreSlim released from the answering threads spun on its lock against the producer:
    // a profile on the 2-core machine found it among the largest costs of the replay besides the VS.)
    private sealed class Vs(IActorRef actor)
    {
        public readonly IActorRef Actor = actor;
        public readonly Queue<Task<VirtualSystemReplies.PacketVerdicts>> InFlight = new(InFlightPerVs);
        /// <summary>Verdicts of the batches collected so far, over-limit by kind included.</summary>
        public VerdictCounts Counts = VerdictCounts.Zero;
    }

    private readonly ConcurrentDictionary<VsId, Vs> _vss = new();
    private readonly string _directory;
    private readonly DatabaseOptions _database;
    private ActorSystem? _system;

    /// <summary>Prepares a temporary directory for the journal; nothing runs before <see cref="StartAsync"/>.</summary>
    public EmbeddedReplaySink()
    {
        _directory = Directory.CreateTempSubdirectory("vsls-replay-").FullName;
        _database = new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={Path.Combine(_directory, "journal.db")}");
    }

    /// <inheritdoc />
    public string Description => $"embedded member (SQLite journal in {_directory}, deleted at the end)";

    /// <inheritdoc />
    public async Task StartAsync(IReadOnlyList<VirtualSystemConfig> virtualSystems, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(virtualSystems);
        if (VslsPersistence.CheckReachable(_database) is { } problem)
            throw new ReplayException($"embedded member: {problem}");
        _system = ActorSystem.Create("vsls-replay", VslsPersistence.StandaloneSetup(_database, ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.log-dead-letters = off
            """)));
        var settings = new VirtualSystemSettings
        {
            CheckpointEveryDeltas = int.MaxValue,
            CheckpointInterval = TimeSpan.FromDays(1),
        };
        foreach (var config in virtualSystems)
        {
            var actor = _system.ActorOf(VirtualSystemActor.Props(config, Member, settings), $"vs-{config.Id.Value}");
            _vss[config.Id] = new Vs(actor);
        }
        // Each VS answers once it has recovered (an empty journal): the replay's clock starts after that.
        foreach (var (id, vs) in _vss)
            await vs.Actor.Ask<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(id), AskTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask SendAsync(VsId vs, TimedPacket[] packets, CancellationToken cancellationToken)
    {
        var target = _vss.TryGetValue(vs, out var v) ? v : throw new ArgumentException($"VS {vs} was not started", nameof(vs));
        // The bound: with InFlightPerVs batches unanswered, wait for the oldest. A VS mostly answers in
        // order, so this waits about as long as waiting for any would.
        if (target.InFlight.Count == InFlightPerVs)
            await CollectOldestAsync(vs, target, cancellationToken).ConfigureAwait(false);
        target.InFlight.Enqueue(target.Actor.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(vs, packets), AskTimeout, CancellationToken.None));
    }

    private static async Task CollectOldestAsync(VsId id, Vs target, CancellationToken cancellationToken)
    {
        VirtualSystemReplies.PacketVerdicts reply;
        try
        {
            reply = await target.InFlight.Dequeue().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw Failed(id, e);
        }
        target.Counts = target.Counts.Add(reply.Counts);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<VsId, VerdictCounts>> DrainAsync(CancellationToken cancellationToken)
    {
        var result = new Dictionary<VsId, VerdictCounts>();
        foreach (var (id, vs) in _vss)
        {
            while (vs.InFlight.Count > 0)
                await CollectOldestAsync(id, vs, cancellationToken).ConfigureAwait(false);
            result[id] = vs.Counts;
        }
        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ConnectionRecord>> ListConnectionsAsync(VsId vs, CancellationToken cancellationToken)
    {
        var target = _vss[vs].Actor;
        var list = await target.Ask<VirtualSystemReplies.Connections>(new VirtualSystemQueries.ListConnections(vs, int.MaxValue), AskTimeout, cancellationToken).ConfigureAwait(false);
        return list.Items;
    }

    private static ReplayException Failed(VsId vs, Exception failure) =>
        new($"VS {vs} did not answer a batch: {failure.GetType().Name}: {failure.Message.ReplaceLineEndings(" ")}");

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_system is not null)
            await _system.Terminate().ConfigureAwait(false);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open cannot be deleted: it is in the temp directory, which the OS cleans.
        }
    }
}
