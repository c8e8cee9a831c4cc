using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain.Configuration;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Registry;

/// <summary>
/// The VSLS registry: a persistent cluster singleton (role <c>vsls-member</c>, persistence id
/// <c>vsls-registry</c>) that owns the VSLS configuration — priority lists, weights, distribution
/// and failback modes — and the drained members. Every change is journaled as a
/// <see cref="RegistryChanged"/> (with who and what, for the audit log) <b>before</b> the reply, then
/// published on DistributedPubSub topic <see cref="Topic"/> so that every member's
/// <see cref="VslsConfigurationHolder"/> (and the allocation strategy on the coordinator) sees it.
/// <para>Recovery: with an empty journal the registry starts from the topology file's VSLS settings
/// (version 0, not journaled); otherwise the journal wins over the file for priorities, weights and
/// modes (the file still defines the VSs, their policies and the members). A journaled configuration
/// that no longer fits the file (a VS or member removed from it) is logged and replaced by the file's
/// settings at the next version, journaled.</para>
/// </summary>
public sealed class VslsRegistryActor : ReceivePersistentActor
{
    /// <summary>The persistence id of the registry.</summary>
    public const string RegistryPersistenceId = "vsls-registry";

    /// <summary>The DistributedPubSub topic the registry publishes <see cref="RegistryReplies.CurrentConfiguration"/> on.</summary>
    public const string Topic = "vsls-configuration";

    /// <summary>A snapshot every this many changes keeps recovery short; the journal (the audit trail) is never deleted.</summary>
    private const int SnapshotEvery = 100;

    private readonly Topology _fileTopology;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private RegistryState _state;

    /// <inheritdoc />
    public override string PersistenceId => RegistryPersistenceId;

    /// <summary>Props of the registry over the topology file <paramref name="fileTopology"/>.</summary>
    public static Props Props(Topology fileTopology) => Akka.Actor.Props.Create(() => new VslsRegistryActor(fileTopology));

    public VslsRegistryActor(Topology fileTopology)
    {
        _fileTopology = fileTopology;
        _state = RegistryLogic.Initial(fileTopology, DateTimeOffset.UtcNow);

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is RegistryState s)
                _state = s;
        });
        Recover<RegistryChanged>(e => _state = e.State);
        Recover<RecoveryCompleted>(_ => OnRecovered());

        Command<RegistryCommands.GetConfiguration>(_ => Sender.Tell(Current()));
        Command<RegistryCommands.GetHistory>(ReadHistory);
        Command<IRegistryChange>(Handle);
        Command<SaveSnapshotSuccess>(_ => { });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Registry snapshot failed; recovery replays the journal instead"));
    }

    private void OnRecovered()
    {
        try
        {
            RegistryLogic.Apply(_fileTopology, _state);
            _log.Info("VSLS registry recovered at version {Version}", _state.Version);
            Publish();
        }
        catch (ConfigException e)
        {
            _log.Error("The journaled VSLS configuration (version {Version}) does not fit the topology file: {Problem}. Using the file's settings.",
                _state.Version, e.Message);
            var reset = RegistryLogic.Initial(_fileTopology, DateTimeOffset.UtcNow) with { Version = _state.Version + 1 };
            Persist(new RegistryChanged(reset, "registry", "reset to the topology file: " + e.Message, DateTime.UtcNow.Ticks), evt =>
            {
                _state = evt.State;
                Publish();
            });
        }
    }

    private void Handle(IRegistryChange command)
    {
        var decision = RegistryLogic.Decide(_fileTopology, _state, command, DateTimeOffset.UtcNow);
        if (decision.State is not { } next)
        {
            _log.Info("Registry change by {ChangedBy} rejected: {Reason}", command.ChangedBy, decision.Rejection);
            Sender.Tell(new RegistryReplies.ConfigurationRejected(decision.Rejection ?? "rejected"));
            return;
        }
        if (next.VslsConfigText == _state.VslsConfigText && next.DrainedMembers.SequenceEqual(_state.DrainedMembers))
        {
            // Nothing changes (drain of a drained member, …): no event, same version.
            Sender.Tell(new RegistryReplies.ConfigurationChanged(_state.Version));
            return;
        }
        var sender = Sender;
        var evt = new RegistryChanged(next, command.ChangedBy ?? "unknown", decision.Description, DateTime.UtcNow.Ticks);
        Persist(evt, e =>
        {
            _state = e.State;
            _log.Info("Registry version {Version}: {Description} (by {ChangedBy})", e.State.Version, e.Description, e.ChangedBy);
            sender.Tell(new RegistryReplies.ConfigurationChanged(e.State.Version));
            Publish();
            if (LastSequenceNr % SnapshotEvery == 0)
                SaveSnapshot(e.State);
        });
    }

    /// <summary>
    /// Reads the last changes from the journal itself (not from memory: recovery starts at the last
    /// snapshot, so older events would be missing), one more than asked so the oldest has a "before".
    /// Answered from a stream, so the registry keeps serving while the read runs.
    /// </summary>
    private void ReadHistory(RegistryCommands.GetHistory query)
    {
        var last = Math.Clamp(query.Last, 1, RegistryCommands.GetHistory.MaxLast);
        var to = LastSequenceNr;
        var from = Math.Max(1, to - last);
        var initial = RegistryLogic.Initial(_fileTopology, DateTimeOffset.UtcNow);
        if (to == 0)
        {
            Sender.Tell(new RegistryReplies.History([]));
            return;
        }
        SqlReadJournal journal;
        try
        {
            journal = PersistenceQuery.Get(Context.System).ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier);
        }
        catch (Exception e)
        {
            _log.Error(e, "The registry cannot open its journal for reading");
            Sender.Tell(new Status.Failure(e));
            return;
        }
        journal.CurrentEventsByPersistenceId(PersistenceId, from, to)
            .Select(e => e.Event)
            .RunWith(Sink.Seq<object>(), Context.System.Materializer())
            .ContinueWith(t =>
            {
                if (!t.IsCompletedSuccessfully)
                    return (object)new Status.Failure(t.Exception?.GetBaseException() ?? new InvalidOperationException("history read cancelled"));
                var events = t.Result.OfType<RegistryChanged>().ToList();
                var entries = new List<RegistryChangeEntry>(events.Count);
                // The event before the first one read is the "before" of the second; the first read
                // has the topology file's settings as "before" only when it is the journal's first.
                var previous = from == 1 ? initial : null;
                foreach (var e in events)
                {
                    if (previous is not null)
                    {
                        entries.Add(new RegistryChangeEntry(
                            e.State.Version, e.ChangedBy, e.Description, e.AtTicks,
                            previous.VslsConfigText, e.State.VslsConfigText,
                            previous.DrainedMembers.IsDefault ? [] : [.. previous.DrainedMembers],
                            e.State.DrainedMembers.IsDefault ? [] : [.. e.State.DrainedMembers]));
                    }
                    previous = e.State;
                }
                return new RegistryReplies.History([.. entries.TakeLast(last)]);
            }, TaskScheduler.Default)
            .PipeTo(Sender);
    }

    private RegistryReplies.CurrentConfiguration Current() =>
        new(_state.Version, _state.VslsConfigText, _state.DrainedMembers.IsDefault ? [] : [.. _state.DrainedMembers]);

    private void Publish() => DistributedPubSub.Get(Context.System).Mediator.Tell(new Publish(Topic, Current()));

    /// <inheritdoc />
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _log.Error(cause, "Registry change could not be journaled; the registry restarts (the sender gets no reply)");
        base.OnPersistFailure(cause, @event, sequenceNr);
    }
}
