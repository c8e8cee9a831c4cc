using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using VslsActors.Cluster.Overload;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Registry;
using VslsActors.Cluster.Sharding;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;
using VslsActors.Domain.VirtualSystems;
using static VslsActors.Cluster.VirtualSystems.ConnectionMessages;

namespace VslsActors.Cluster.VirtualSystems;

/// <summary>
/// One virtual system: applies its policy to first packets, tracks every accepted connection,
/// journals connection lifecycle deltas and checkpoints its synced table, so that it comes back
/// with its connections on another member. Persistence id <c>vs-&lt;id&gt;</c>.
/// The design, in brief:
/// </summary>
/// <remarks>
/// <para><b>Table.</b> One <see cref="Entry"/> per tracked connection in a <c>Dictionary&lt;FlowKey, Entry&gt;</c>.
/// An entry is <em>live</em> (a <see cref="ConnectionActor"/> child holds the authoritative state)
/// or a <em>record</em>: just opened (see the open path below) or <em>passivated</em> (the child went idle for <see cref="VirtualSystemSettings.PassivateAfter"/>,
/// handed its state over and stopped; the entry's compact record is the state, ~200 bytes instead of an
/// actor's ~1.9 KB). The next packet rehydrates a child from the record. Passivated entries expire on
/// the VS's sweep tick, from a min-heap ordered by expiry time.</para>
/// <para><b>Open path.</b> A new connection does not get an actor: the VS applies its first packet
/// with <see cref="ConnectionStateMachine.Open"/> and keeps it as a record, the same representation as
/// a passivated connection (same expiry min-heap, same sweep). Its actor is created, rehydrated from the
/// record like a passivated connection's, when the connection gets its next packet (later in the same
/// batch, or in a later one). So one owner holds a connection's state at a time (the record, or the
/// actor once it exists), a batch of SYNs creates no actor, sends no child message and its reply waits
/// only for its deltas (measured: creating an actor per SYN capped one VS near 30k opens/s). A
/// connection that never sends a second packet never costs an actor; it expires by the sweep, and
/// until its actor exists it expires by that timer only (as an actor does), not by a later packet's
/// timestamp, so its grace is at most one <see cref="VirtualSystemSettings.SweepInterval"/>.</para>
/// <para><b>Hot path.</b> A <see cref="VirtualSystemCommands.ProcessPackets"/> batch is split per
/// connection: one dictionary lookup per packet, then one <see cref="ConnectionPackets"/> message per
/// touched connection (the shared batch array and the positions of its packets: an exact-size array,
/// or none for a single packet). The connection actors add their verdicts to the batch's shared
/// <see cref="BatchTally"/> and the last one sends it back: one message returns per batch, not one per
/// connection. Nothing else is allocated per packet. Unknown keys go through <see cref="Admission.Decide(in TimedPacket, CompiledPolicy, int, int, ref TokenBucket, long)"/>
/// (state, policy, limit).</para>
/// <para><b>Limits.</b> Three per VS (docs/limits.md), read from the VSLS configuration in effect and
/// changed at run time without a restart (<see cref="VslsConfigurationApplied"/> on the local event
/// stream). <em>Packets/s</em>: a <see cref="TokenBucket"/> taken once per batch, before any packet is
/// looked at, so a flood's excess costs one subtraction per batch, not a lookup per packet; the batch's
/// tail beyond the tokens is refused. <em>Connections</em> and <em>new connections/s</em>: decided per
/// first packet by <see cref="Admission"/>, after the policy. The buckets run on this member's clock (one
/// read per batch), not on packet timestamps, which the sender chooses and could inflate. Every refused
/// packet is counted over-limit, and by kind.</para>
/// <para><b>Overload.</b> The member's <see cref="MemberOverloadState"/> is read once per batch (two volatile
/// reads) and consulted only for packets that would open a connection: a shedding member refuses them
/// (over-limit, kind <c>overload</c>; docs/degradation.md), never an established connection's packet. The VS
/// fills its <see cref="VsLoadMeter"/> once per batch: new-connection attempts, the batch's latency when it is
/// answered (taken to answer, so journal waits count), and its queued work (mailbox + unanswered batches).</para>
/// <para><b>Durability.</b> The reply to a batch is sent when every connection actor it touched has
/// finished it <em>and</em> every delta produced so far is journaled: a reply means durable. Deltas are
/// not written with <c>Persist</c>/<c>PersistAsync</c>: on a journal failure both end in
/// <c>Eventsourced</c> stopping the actor unconditionally (after <c>OnPersistFailure</c>), losing the
/// live table and its children. Instead a <see cref="DeltaWriter"/> child writes through the journal
/// protocol under this actor's persistence id and sequence numbers, one write in flight at a time
/// (deltas produced meanwhile are grouped into the next write: group commit); a failed write is
/// retried with exponential backoff between <see cref="VirtualSystemSettings.JournalRetryMin"/> and
/// <see cref="VirtualSystemSettings.JournalRetryMax"/>, counted in <c>Status.JournalFailures</c> and
/// logged with the gap when writes resume. This actor still recovers like any persistent actor.</para>
/// <para><b>Checkpoints.</b> After <see cref="VirtualSystemSettings.CheckpointEveryDeltas"/> journaled
/// deltas, or every <see cref="VirtualSystemSettings.CheckpointInterval"/> if any were journaled, the
/// synced entries are captured into a <see cref="VsCheckpoint"/> tagged with the sequence number of the
/// last delta they include; it is saved once that delta is durable (never earlier, or recovery could
/// skip a delta written later under the same number). A connection's counters in a checkpoint are as of
/// its last lifecycle report or passivation: the connections survive, counters may lag. Only the last
/// <see cref="VirtualSystemSettings.CheckpointsKept"/> checkpoints are kept; journaled deltas are never deleted.</para>
/// <para><b>Recovery</b> = last checkpoint + later deltas, into a <see cref="SyncedTable"/>; every
/// recovered connection becomes a passivated entry, rehydrated into an actor on its next packet (so
/// "rebuilding the connection actors" is lazy, which keeps restore fast and memory flat). Each recovered
/// connection's idle clock restarts at recovery, because a journaled LastSeen lags its traffic.</para>
/// </remarks>
public sealed class VirtualSystemActor : ReceivePersistentActor, IWithTimers
{
    /// <summary>One tracked connection; mutable in place so the hot path does one dictionary lookup.</summary>
    private sealed class Entry
    {
        public FlowKey Key;
        public ConnectionState State;
        public SyncMode Sync;
        public string RuleName = "";
        public bool Synced;
        public bool Removed;
        public IActorRef? Child;
        /// <summary>
        /// Opened as a record and never had an actor: like an actor, it expires by a timer (the sweep)
        /// only, not by a packet's timestamp, so the open path keeps the actor's expiry semantics.
        /// </summary>
        public bool Fresh;
        /// <summary>Packets forwarded to the current child (compared with its PacketsSeen).</summary>
        public long Forwarded;
        /// <summary>Bumped whenever the entry's heap positions become stale.</summary>
        public int Generation;
        public long BatchMark;
        public int BatchCount;
        public int BatchFirst;
        public int[]? BatchIndices;

        public ConnectionRecord ToRecord() => new(Key, State, Sync, RuleName);
    }

    private sealed class PendingWrite(long sequenceNr, ImmutableArray<ConnectionDelta> deltas)
    {
        public readonly long SequenceNr = sequenceNr;
        public readonly ConnectionDeltas Payload = new(deltas);
        public readonly List<BatchTally> Waiters = [];
    }

    /// <summary>A connection listing waiting for its live connection actors' states.</summary>
    private sealed class PendingListing(long id, IActorRef replyTo, Entry[] entries, int total)
    {
        public readonly long Id = id;
        public readonly IActorRef ReplyTo = replyTo;
        public readonly Entry[] Entries = entries;
        public readonly int Total = total;
        public readonly (FlowKey Key, ConnectionState State)?[] States = new (FlowKey, ConnectionState)?[entries.Length];
        /// <summary>Children asked and not yet answered, with their position in <see cref="Entries"/>.</summary>
        public readonly Dictionary<IActorRef, int> Asked = new();
    }

    private sealed record ListingDeadline(long ListingId);

    private sealed class HandOffDeadline
    {
        public static readonly HandOffDeadline Instance = new();
        private HandOffDeadline() { }
    }

    /// <summary>
    /// The shard region's hand-off stop message for VS entities (instead of <see cref="PoisonPill"/>):
    /// the VS finishes the batches it has started and makes their deltas durable, then stops. With a
    /// PoisonPill it stopped at once, leaving those batches unanswered and a journal write in flight
    /// that could land after the VS's next incarnation (on the Standby) had recovered.
    /// </summary>
    public sealed class HandOffStop
    {
        /// <summary>The one instance.</summary>
        public static readonly HandOffStop Instance = new();
        private HandOffStop() { }
    }

    /// <summary>
    /// How long a VS that was told <see cref="HandOffStop"/> waits for its batches and journal writes
    /// before it stops anyway (a journal outage must not hold a hand-off past the coordinator's
    /// <c>handoff-timeout</c>, 10 s in hocon/akka.conf).
    /// </summary>
    public static readonly TimeSpan HandOffWaitLimit = TimeSpan.FromSeconds(8);

    private sealed class Sweep
    {
        public static readonly Sweep Instance = new();
        private Sweep() { }
    }

    private sealed class CheckpointTick
    {
        public static readonly CheckpointTick Instance = new();
        private CheckpointTick() { }
    }

    private sealed class RetryWrite
    {
        public static readonly RetryWrite Instance = new();
        private RetryWrite() { }
    }

    private readonly VirtualSystemConfig _config;
    private readonly MemberName _member;
    private readonly VirtualSystemSettings _settings;
    private readonly CompiledPolicy _policy;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly long _startedAt = DateTime.UtcNow.Ticks;

    private readonly Dictionary<FlowKey, Entry> _entries = new();
    private readonly PriorityQueue<(Entry Entry, int Generation), long> _passivatedExpiry = new();
    private readonly PriorityQueue<(Entry Entry, int Generation), long> _syncDue = new();
    private int _liveActors;

    private int _batchesOpen;
    private bool _handingOff;
    private readonly Dictionary<long, PendingListing> _listings = new();
    private long _nextListingId;

    /// <summary>How long a listing waits for live connection actors' states.</summary>
    private static readonly TimeSpan ListDeadline = TimeSpan.FromSeconds(5);
    private long _nextBatchId;
    private Entry?[] _packetEntries = new Entry?[256];
    private readonly List<Entry> _touched = [];

    private long _accepted, _policyDropped, _rejected, _outOfState, _overLimit, _overPacketRate, _overNewConnectionRate, _overloadShed;

    // Overload (see the class remarks): the member's state, this incarnation's meter, batches taken and not yet answered.
    private readonly MemberOverloadState _overload = MemberOverloadState.Get(Context.System);
    private VsLoadMeter? _meter;
    private ActorCell? _cell;
    private int _unanswered;

    // Limits in effect (see the class remarks); replaced when the configuration changes.
    private VsLimits _limits;
    private TokenBucket _packetRate;
    private TokenBucket _newConnectionRate;

    // Journal: deltas not yet in a write, writes sealed (numbered) but not sent, the one in flight.
    private IActorRef _writer = ActorRefs.Nobody;
    private List<ConnectionDelta> _unwritten = [];
    private readonly List<BatchTally> _unwrittenWaiters = [];
    private readonly Queue<PendingWrite> _sealed = new();
    private PendingWrite? _inFlight;
    private long _nextSequenceNr = 1;
    private long _durableSequenceNr;
    private long _deltasJournaled;
    private long _journalFailures;
    private int _failedAttempts;
    private long _failingSince;

    // Checkpoints.
    private long _deltasSinceCheckpoint;
    private (long SequenceNr, VsCheckpoint Checkpoint)? _pendingCheckpoint;
    private bool _checkpointSaving;
    private long _lastCheckpointSequenceNr;
    private readonly Queue<long> _keptCheckpoints = new();
    private long _checkpointsWritten;
    // The newest checkpoint this incarnation saved or recovered from: when it was taken and how many connections it holds.
    private long? _lastCheckpointAt;
    private int? _lastCheckpointConnections;
    // Connections in the checkpoint being saved, for _lastCheckpointConnections once it succeeds.
    private int _savingCheckpointConnections;
    private long _savingCheckpointAt;

    // Packets and connections over the last seconds, sampled each sweep, for `dist equal --by load`.
    private readonly LoadWindow _loadWindow;
    private SyncedTable? _recovering = new();
    private int _recovered;
    // Recovery cost, logged when it completes: how long, from which checkpoint, how many journal events.
    private readonly System.Diagnostics.Stopwatch _recoveryClock = System.Diagnostics.Stopwatch.StartNew();
    private long _recoveredEvents;

    /// <summary>Props of the persistent VS entity for <paramref name="config"/> running on <paramref name="member"/>.</summary>
    public static Props Props(VirtualSystemConfig config, MemberName member, VirtualSystemSettings settings)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        return Akka.Actor.Props.Create(() => new VirtualSystemActor(config, member, settings));
    }

    /// <summary>The persistence id of VS <paramref name="id"/>: <c>vs-&lt;id&gt;</c>.</summary>
    public static string PersistenceIdOf(VsId id) => "vs-" + id;

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through a public constructor.</summary>
    public VirtualSystemActor(VirtualSystemConfig config, MemberName member, VirtualSystemSettings settings)
    {
        _config = config;
        _member = member;
        _settings = settings;
        _loadWindow = new LoadWindow(LoadWindow.DefaultLength < settings.SweepInterval ? settings.SweepInterval : LoadWindow.DefaultLength, settings.SweepInterval);
        _policy = PolicyCompiler.Compile(config.Policy, "topology", $"{config.Id} ({config.Name})");
        PersistenceId = PersistenceIdOf(config.Id);
        _limits = VsLimits.Of(config);
        SetLimits(_limits);

        Recover<SnapshotOffer>(OnSnapshotOffer);
        Recover<ConnectionDeltas>(OnRecoveredDeltas);
        Recover<RecoveryCompleted>(_ => OnRecoveryCompleted());

        Command<VirtualSystemCommands.ProcessPackets>(OnPackets);
        Command<BatchTally>(OnBatchTally);
        Command<ConnectionChanges>(OnChanges);
        Command<ConnectionIdle>(OnIdle);
        Command<Sweep>(_ => OnSweep());
        Command<CheckpointTick>(_ =>
        {
            if (_deltasSinceCheckpoint > 0)
                TakeCheckpoint();
        });
        Command<DeltaWriter.Written>(OnWritten);
        Command<DeltaWriter.WriteFailed>(OnWriteFailed);
        Command<DeltaWriter.WriteRejected>(OnWriteRejected);
        Command<DeltaWriter.Fenced>(OnFenced);
        Command<RetryWrite>(_ => SendInFlight(isRetry: true));
        Command<SaveSnapshotSuccess>(OnCheckpointSaved);
        Command<SaveSnapshotFailure>(f =>
        {
            _checkpointSaving = false;
            _journalFailures++;
            if (_handingOff)
                StopIfDrained();
            _log.Warning(f.Cause, "VS {VsId}: checkpoint at delta {SequenceNr} failed; the next one will be tried at the next trigger", _config.Id, f.Metadata.SequenceNr);
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "VS {VsId}: deleting old checkpoints failed (they are kept)", _config.Id));
        Command<VirtualSystemCommands.EnsureStarted>(_ => Sender.Tell(new VirtualSystemReplies.Started(_config.Id, _member.Value, _startedAt)));
        Command<VirtualSystemQueries.GetStatus>(_ => Sender.Tell(StatusNow()));
        Command<VirtualSystemQueries.ListConnections>(OnList);
        Command<StateReport>(OnStateReport);
        Command<HandOffStop>(_ => OnHandOffStop());
        Command<HandOffDeadline>(_ =>
        {
            _log.Warning("VS {VsId}: hand-off waited {WaitMs} ms for {Batches} batches and journal writes; stopping with them unfinished",
                _config.Id, (long)HandOffWaitLimit.TotalMilliseconds, _batchesOpen + _unwrittenWaiters.Count);
            Context.Stop(Self);
        });
        Command<ListingDeadline>(OnListingDeadline);
        Command<VslsConfigurationApplied>(applied => OnConfiguration(applied.Configuration));
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        base.PreStart();
        if (MemberFenceState.Get(Context.System).IsFenced)
        {
            // This member is cut off from the majority (or frozen): the VS may be Active elsewhere already.
            _log.Warning("VS {VsId}: not started on {Member}: this member is fenced (minority side of a partition, or frozen)", _config.Id, _member);
            Context.Stop(Self);
            return;
        }
        _cell = Context as ActorCell;
        _meter = _overload.Attach(_config.Id);
        Context.System.EventStream.Subscribe(Self, typeof(VslsConfigurationApplied));
        // A change applied between this VS's Props and its subscription would otherwise be missed.
        var holder = VslsConfigurationHolder.Get(Context.System);
        if (holder.IsInitialized && holder.Current.FromRegistry)
            OnConfiguration(holder.Current);
    }

    // ---------------------------------------------------------------- limits

    private void OnConfiguration(VslsConfiguration configuration)
    {
        if (configuration.Topology.Find(_config.Id) is not { } vs)
            return;
        var limits = VsLimits.Of(vs);
        if (limits == _limits)
            return;
        _log.Info("VS {VsId}: limits changed from {Before} to {After} (configuration version {Version})",
            _config.Id, _limits.FieldsText(), limits.FieldsText(), configuration.Version);
        _limits = limits;
        SetLimits(limits);
    }

    /// <summary>
    /// Puts <paramref name="limits"/> in effect. A changed rate starts a new bucket (full: the new
    /// limit's burst is available at once); an unchanged rate keeps its bucket and its level.
    /// </summary>
    private void SetLimits(VsLimits limits)
    {
        var now = DateTime.UtcNow.Ticks;
        if (_packetRate.RatePerSecond != (limits.PacketsPerSecond ?? 0))
            _packetRate = TokenBucket.ForLimit(limits.PacketsPerSecond, now);
        if (_newConnectionRate.RatePerSecond != (limits.NewConnectionsPerSecond ?? 0))
            _newConnectionRate = TokenBucket.ForLimit(limits.NewConnectionsPerSecond, now);
    }

    /// <inheritdoc />
    public override string PersistenceId { get; }

    /// <summary>Timers for the sweep, checkpoint and journal-retry ticks.</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    // ---------------------------------------------------------------- recovery

    private void OnSnapshotOffer(SnapshotOffer offer)
    {
        if (offer.Snapshot is not VsCheckpoint checkpoint)
        {
            _log.Warning("VS {VsId}: ignoring a snapshot of unexpected type {Type}", _config.Id, offer.Snapshot?.GetType().Name);
            return;
        }
        var connections = new SyncedConnection[checkpoint.Connections.Length];
        for (var i = 0; i < connections.Length; i++)
            connections[i] = ToSynced(checkpoint.Connections[i]);
        _recovering = SyncedTable.FromCheckpoint(connections);
        _lastCheckpointSequenceNr = offer.Metadata.SequenceNr;
        _lastCheckpointAt = checkpoint.TakenAtTicks;
        _lastCheckpointConnections = connections.Length;
        _keptCheckpoints.Enqueue(offer.Metadata.SequenceNr);
    }

    private void OnRecoveredDeltas(ConnectionDeltas deltas)
    {
        var table = _recovering ??= new SyncedTable();
        _recoveredEvents++;
        foreach (var delta in deltas.Deltas)
            table.Apply((SyncedChange)delta.Kind, ToSynced(delta.Connection));
    }

    private void OnRecoveryCompleted()
    {
        var now = DateTime.UtcNow.Ticks;
        if (_recovering is { } table)
        {
            _entries.EnsureCapacity(table.Count);
            foreach (var c in table.Connections)
            {
                var s = c.State;
                // A journaled LastSeen is as of the connection's last lifecycle change; its traffic may
                // have gone on since, so its idle clock restarts now rather than expiring it at once.
                var state = ConnectionState.Restore(s.Phase, s.Protocol, s.OriginatorFinSeen, s.ResponderFinSeen,
                    s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes, s.FirstSeen, Math.Max(s.LastSeen, now));
                var entry = new Entry { Key = c.Key, State = state, Sync = c.Sync, RuleName = c.RuleName, Synced = true };
                _entries[c.Key] = entry;
                _passivatedExpiry.Enqueue((entry, entry.Generation), ConnectionStateMachine.ExpiresAt(state, _config.Timeouts));
            }
            _recovered = table.Count;
            _recovering = null;
        }
        _durableSequenceNr = LastSequenceNr;
        _nextSequenceNr = LastSequenceNr + 1;
        _writer = Context.ActorOf(DeltaWriter.Props(PersistenceId, Journal), "journal-writer");
        Timers.StartPeriodicTimer(Sweep.Instance, Sweep.Instance, _settings.SweepInterval);
        Timers.StartPeriodicTimer(CheckpointTick.Instance, CheckpointTick.Instance, _settings.CheckpointInterval);
        _log.Info("VS {VsId} ({VsName}) started on {Member}: {Recovered} connections recovered up to delta {SequenceNr} in {RecoveryMs} ms (checkpoint at {CheckpointSequenceNr}, {Events} journal events replayed)",
            new object[] { _config.Id, _config.Name, _member, _recovered, LastSequenceNr, _recoveryClock.ElapsedMilliseconds, _lastCheckpointSequenceNr, _recoveredEvents });
    }

    private static SyncedConnection ToSynced(ConnectionRecord r) => new(r.Key, r.State, r.Sync, r.RuleName);

    // ---------------------------------------------------------------- packets

    private void OnPackets(VirtualSystemCommands.ProcessPackets command)
    {
        var packets = command.Packets ?? [];
        var batchId = ++_nextBatchId;
        var batch = new BatchTally(Sender);
        if (_packetEntries.Length < packets.Length)
            _packetEntries = new Entry?[Math.Max(packets.Length, _packetEntries.Length * 2)];
        var packetEntries = _packetEntries;
        var touched = _touched;
        touched.Clear();
        _unanswered++;
        // Read once per batch; it matters only to packets that would open a connection.
        var shedNew = _overload.ShedsNewConnectionsOf(_config.Id);

        // Limits on this member's clock, read once per batch and only when a rate is limited.
        var now = _packetRate.IsLimited || _newConnectionRate.IsLimited ? DateTime.UtcNow.Ticks : 0L;
        var admitted = packets.Length;
        if (_packetRate.IsLimited)
        {
            // The packets/s limit first and per batch: the excess (the batch's tail) is refused before
            // any lookup, so a flooded VS spends next to nothing on what it refuses.
            admitted = _packetRate.TakeUpTo(packets.Length, now);
            var refused = packets.Length - admitted;
            batch.OverLimit += refused;
            batch.OverPacketRate += refused;
        }
        var maxConnections = _limits.MaxConnections;
        // A span of exactly the admitted packets: the loop bound is its length, so the JIT drops the bounds check.
        ReadOnlySpan<TimedPacket> admittedPackets = packets.AsSpan(0, admitted);

        for (var i = 0; i < admittedPackets.Length; i++)
        {
            ref readonly var packet = ref admittedPackets[i];
            var key = FlowKey.FromPacket(packet.Header);
            if (_entries.TryGetValue(key, out var entry))
            {
                if (entry.Child is null && !entry.Fresh && ConnectionStateMachine.IsExpired(entry.State, packet.Timestamp, _config.Timeouts))
                {
                    // A passivated connection that has expired is gone: this is a first packet again.
                    RemoveEntry(entry);
                    entry = null;
                }
                else if (entry.State.Phase.IsClosed() && IsBareSyn(packet.Header))
                {
                    // Port reuse: a new connection on a closed key. It needs the policy like any new
                    // connection; the child then reopens its state (and re-keys the originator).
                    var decision = Admission.Decide(packet, _policy, _entries.Count - 1, maxConnections, ref _newConnectionRate, now, shedNew);
                    if (!decision.Opens)
                    {
                        Count(batch, decision.Outcome);
                        packetEntries[i] = null;
                        continue;
                    }
                    entry.Sync = decision.Rule.Sync;
                    entry.RuleName = decision.Rule.RuleName;
                }
            }

            if (entry is null)
            {
                var decision = Admission.Decide(packet, _policy, _entries.Count, maxConnections, ref _newConnectionRate, now, shedNew);
                packetEntries[i] = null;
                Count(batch, decision.Outcome);
                if (!decision.Opens)
                    continue;
                // Open path: the new connection starts as a record (its opener applied by the pure
                // state machine here and counted above), exactly like a passivated connection. It gets
                // an actor only if a later packet arrives, in this batch (below) or a later one, so a
                // batch of SYNs creates no actor and sends no child message.
                entry = new Entry
                {
                    Key = key,
                    State = ConnectionStateMachine.Open(packet.Header, packet.Timestamp),
                    Sync = decision.Rule.Sync,
                    RuleName = decision.Rule.RuleName,
                    Fresh = true,
                };
                _entries.Add(key, entry);
                _passivatedExpiry.Enqueue((entry, entry.Generation), ConnectionStateMachine.ExpiresAt(entry.State, _config.Timeouts));
                OnOpened(entry);
                continue;
            }

            if (entry.BatchMark != batchId)
            {
                entry.BatchMark = batchId;
                entry.BatchCount = 0;
                entry.BatchFirst = i;
                touched.Add(entry);
            }
            entry.BatchCount++;
            packetEntries[i] = entry;
        }

        // One exact-size index array per connection with several packets in the batch, filled in
        // arrival order; a connection with one packet (the common case when a batch spreads over many
        // connections) gets its index in the message itself. The packets stay in the batch's array,
        // which the children share read-only.
        var anyArray = false;
        foreach (var entry in touched)
        {
            if (entry.BatchCount > 1)
            {
                entry.BatchIndices = new int[entry.BatchCount];
                anyArray = true;
            }
            entry.BatchCount = 0;
        }
        for (var i = 0; i < admitted; i++)
        {
            if (packetEntries[i] is { } entry)
            {
                if (anyArray && entry.BatchIndices is { } indices)
                    indices[entry.BatchCount++] = i;
                packetEntries[i] = null;
            }
        }
        foreach (var entry in touched)
        {
            if (entry.Child is null)
            {
                entry.Child = Context.ActorOf(ConnectionActor.Props(entry.Key, entry.State, _config.Timeouts, _settings.PassivateAfter));
                entry.Forwarded = 0;
                entry.Fresh = false;
                entry.Generation++; // a passivated entry's expiry-heap position is stale now
                _liveActors++;
            }
            batch.Hold();
            var indices = entry.BatchIndices;
            entry.Child.Tell(new ConnectionPackets(batch, packets, indices, entry.BatchFirst));
            entry.Forwarded += indices?.Length ?? 1;
            entry.BatchIndices = null;
        }
        touched.Clear();
        // New-connection attempts of the batch (opened, or refused by a limit other than packets/s, or shed), for the overload monitor's over-share set.
        _meter?.AddNewConnectionAttempts(batch.Accepted + batch.OverLimit - batch.OverPacketRate);

        // The VS's own hold: if every child already finished, the batch is done here.
        if (batch.Release(0, 0))
            BatchDone(batch);
        else
            _batchesOpen++;
        Flush();
        _meter?.SetQueued(Queued());
    }

    /// <summary>Work waiting in this VS: messages in its mailbox plus batches taken and not yet answered.</summary>
    private long Queued() => (_cell?.NumberOfMessages ?? 0) + _unanswered;

    private static bool IsBareSyn(in PacketHeader header) =>
        header.Protocol == Domain.Net.IpProtocol.Tcp && (header.Flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Fin | TcpFlags.Rst)) == TcpFlags.Syn;

    private static void Count(BatchTally batch, AdmissionOutcome outcome)
    {
        switch (outcome)
        {
            case AdmissionOutcome.Open: batch.Accepted++; break;
            case AdmissionOutcome.OutOfState: batch.OutOfState++; break;
            case AdmissionOutcome.PolicyDrop: batch.PolicyDropped++; break;
            case AdmissionOutcome.Reject: batch.Rejected++; break;
            case AdmissionOutcome.OverLimit: batch.OverLimit++; break;
            case AdmissionOutcome.OverNewConnectionRate: batch.OverLimit++; batch.OverNewConnectionRate++; break;
            case AdmissionOutcome.Overload: batch.OverLimit++; batch.Overload++; break;
        }
    }

    private void OnChanges(ConnectionChanges changes)
    {
        foreach (var change in changes.Changes)
            OnLifecycle(change);
        Flush();
    }

    /// <summary>The last connection actor of a batch finished (see <see cref="BatchTally"/>).</summary>
    private void OnBatchTally(BatchTally batch)
    {
        _batchesOpen--;
        BatchDone(batch);
        Flush();
    }

    private void OnLifecycle(LifecycleChange change)
    {
        if (!_entries.TryGetValue(change.Key, out var entry) || !ReferenceEquals(entry.Child, Sender))
            return;
        switch (change.Transition)
        {
            case LifecycleTransition.Reopened:
                // A new connection on the same key: the old one is gone, the new one syncs by its rule.
                if (entry.Synced)
                    AddDelta(DeltaKind.Expired, entry);
                entry.Key = change.Key;
                entry.State = change.State;
                entry.Synced = false;
                entry.Generation++;
                OnOpened(entry);
                break;
            case LifecycleTransition.Established or LifecycleTransition.Closed:
                entry.State = change.State;
                SyncIfDue(entry, DateTime.UtcNow.Ticks);
                if (entry.Synced)
                    AddDelta(change.Transition == LifecycleTransition.Established ? DeltaKind.Established : DeltaKind.Closed, entry);
                break;
        }
    }

    private void OnOpened(Entry entry)
    {
        switch (entry.Sync)
        {
            case SyncMode.Immediate:
                entry.Synced = true;
                AddDelta(DeltaKind.Opened, entry);
                break;
            case SyncMode.Delayed:
                _syncDue.Enqueue((entry, entry.Generation), SyncRules.SyncDueAt(SyncMode.Delayed, entry.State.FirstSeen, _config.SyncDelay));
                break;
        }
    }

    private void SyncIfDue(Entry entry, long now)
    {
        if (!entry.Synced && !entry.Removed && SyncRules.IsDue(entry.Sync, entry.State.FirstSeen, _config.SyncDelay, now))
        {
            entry.Synced = true;
            AddDelta(DeltaKind.Opened, entry);
        }
    }

    // ---------------------------------------------------------------- idle, passivation, expiry

    private void OnIdle(ConnectionIdle idle)
    {
        if (!_entries.TryGetValue(idle.Key, out var entry) || !ReferenceEquals(entry.Child, Sender))
        {
            Sender.Tell(PoisonPill.Instance); // an orphan (should not happen): it tracks nothing we know
            return;
        }
        if (entry.Forwarded != idle.PacketsSeen)
            return; // packets are on their way to it; it re-arms its timer when they arrive
        entry.State = idle.State;
        var child = entry.Child;
        entry.Child = null;
        _liveActors--;
        // PoisonPill, not Context.Stop: it queues behind anything already sent to the child.
        child.Tell(PoisonPill.Instance);
        if (idle.Expired)
        {
            RemoveEntry(entry);
        }
        else
        {
            SyncIfDue(entry, DateTime.UtcNow.Ticks);
            entry.Generation++;
            _passivatedExpiry.Enqueue((entry, entry.Generation), ConnectionStateMachine.ExpiresAt(entry.State, _config.Timeouts));
        }
        Flush();
    }

    private void RemoveEntry(Entry entry)
    {
        _entries.Remove(entry.Key);
        entry.Removed = true;
        entry.Generation++;
        if (entry.Synced)
            AddDelta(DeltaKind.Expired, entry);
    }

    private void OnSweep()
    {
        var now = DateTime.UtcNow.Ticks;
        _loadWindow.Record(now, _accepted + _policyDropped + _rejected + _outOfState + _overLimit, _entries.Count);
        _meter?.SetQueued(Queued());
        while (_passivatedExpiry.TryPeek(out var item, out var expiresAt) && expiresAt <= now)
        {
            _passivatedExpiry.Dequeue();
            var (entry, generation) = item;
            if (entry.Generation != generation || entry.Removed || entry.Child is not null)
                continue;
            if (ConnectionStateMachine.IsExpired(entry.State, now, _config.Timeouts))
                RemoveEntry(entry);
            else
                _passivatedExpiry.Enqueue((entry, generation), ConnectionStateMachine.ExpiresAt(entry.State, _config.Timeouts));
        }
        while (_syncDue.TryPeek(out var item, out var due) && due <= now)
        {
            _syncDue.Dequeue();
            SyncIfDue(item.Entry, now);
        }
        Flush();
    }

    // ---------------------------------------------------------------- journal

    private void AddDelta(DeltaKind kind, Entry entry) => _unwritten.Add(new ConnectionDelta(kind, entry.ToRecord()));

    /// <summary>Replies to a batch once everything produced so far is durable (immediately if it already is).</summary>
    private void BatchDone(BatchTally batch)
    {
        var counts = batch.Counts;
        _accepted += counts.Accepted;
        _policyDropped += counts.PolicyDropped;
        _rejected += counts.Rejected;
        _outOfState += counts.OutOfState;
        _overLimit += counts.OverLimit;
        _overPacketRate += counts.OverPacketRate;
        _overNewConnectionRate += counts.OverNewConnectionRate;
        _overloadShed += counts.Overload;
        if (_unwritten.Count > 0)
            _unwrittenWaiters.Add(batch);
        else if (_sealed.Count > 0)
            _sealed.Last().Waiters.Add(batch); // Queue.Last is O(n) but sealed writes are at most a couple
        else if (_inFlight is not null)
            _inFlight.Waiters.Add(batch);
        else
            Reply(batch);
    }

    private void Reply(BatchTally batch)
    {
        batch.ReplyTo.Tell(new VirtualSystemReplies.PacketVerdicts(_config.Id, _member.Value, batch.Counts));
        _unanswered--;
        if (_meter is { } meter)
        {
            meter.Answered(batch.StartedAt);
            meter.SetQueued(Queued());
        }
    }

    /// <summary>Numbers the unwritten deltas as the next event (they will be written after what is already sealed).</summary>
    private void Seal()
    {
        if (_unwritten.Count == 0)
            return;
        var write = new PendingWrite(_nextSequenceNr++, [.. _unwritten]);
        write.Waiters.AddRange(_unwrittenWaiters);
        _unwrittenWaiters.Clear();
        _unwritten = [];
        _sealed.Enqueue(write);
    }

    private void Flush()
    {
        if (_inFlight is null)
        {
            if (_sealed.Count == 0)
                Seal();
            if (_sealed.Count > 0)
            {
                _inFlight = _sealed.Dequeue();
                SendInFlight(isRetry: false);
            }
        }
        if (_handingOff)
            StopIfDrained();
    }

    // ---------------------------------------------------------------- hand-off

    private void OnHandOffStop()
    {
        _handingOff = true;
        Timers.StartSingleTimer(HandOffDeadline.Instance, HandOffDeadline.Instance, HandOffWaitLimit);
        Flush();
    }

    /// <summary>Stops once every started batch is answered and every delta is durable (see <see cref="HandOffStop"/>).</summary>
    private void StopIfDrained()
    {
        if (_batchesOpen == 0 && _inFlight is null && _sealed.Count == 0 && _unwritten.Count == 0 && !_checkpointSaving)
            Context.Stop(Self);
    }

    private void SendInFlight(bool isRetry)
    {
        if (_inFlight is { } write)
            _writer.Tell(new DeltaWriter.Write(write.SequenceNr, write.Payload, isRetry));
    }

    private void OnWritten(DeltaWriter.Written written)
    {
        if (_inFlight is not { } write || write.SequenceNr != written.SequenceNr)
            return;
        if (_failedAttempts > 0)
        {
            _log.Warning("VS {VsId}: journal writes resumed after {GapMs} ms and {Attempts} failed attempts; no delta was lost",
                _config.Id, (long)TimeSpan.FromTicks(DateTime.UtcNow.Ticks - _failingSince).TotalMilliseconds, _failedAttempts);
            _failedAttempts = 0;
        }
        Completed(write, write.Payload.Deltas.Length);
    }

    private void OnWriteFailed(DeltaWriter.WriteFailed failed)
    {
        if (_inFlight is not { } write || write.SequenceNr != failed.SequenceNr)
            return;
        _journalFailures++;
        if (_failedAttempts++ == 0)
            _failingSince = DateTime.UtcNow.Ticks;
        var backoff = TimeSpan.FromTicks(Math.Min(_settings.JournalRetryMax.Ticks,
            _settings.JournalRetryMin.Ticks << Math.Min(_failedAttempts - 1, 20)));
        _log.Warning(failed.Cause, "VS {VsId}: journal write of {Deltas} deltas (event {SequenceNr}) failed (attempt {Attempt}), retrying in {BackoffMs} ms",
            _config.Id, write.Payload.Deltas.Length, write.SequenceNr, _failedAttempts, (long)backoff.TotalMilliseconds);
        Timers.StartSingleTimer(RetryWrite.Instance, RetryWrite.Instance, backoff);
    }

    private void OnFenced(DeltaWriter.Fenced fenced)
    {
        if (_inFlight is not { } write || write.SequenceNr != fenced.SequenceNr)
            return;
        // Another incarnation of this VS (on the member the cluster moved it to) has written this
        // sequence number: this one's table is stale and its deltas can never be written. Stop, so
        // that only one incarnation serves the VS; its batches stay unanswered (their senders retry
        // through the shard region, which knows the VS's real home).
        _journalFailures++;
        _log.Error("VS {VsId}: event {SequenceNr} in the journal was written by another incarnation of this VS (it runs on another member now); this incarnation on {Member} stops with {Batches} batches unanswered",
            _config.Id, write.SequenceNr, _member, _batchesOpen + _unwrittenWaiters.Count + write.Waiters.Count);
        Context.Stop(Self);
    }

    private void OnWriteRejected(DeltaWriter.WriteRejected rejected)
    {
        if (_inFlight is not { } write || write.SequenceNr != rejected.SequenceNr)
            return;
        // The journal refuses the event itself (serialization): retrying cannot help. The deltas are
        // lost to the journal (the next checkpoint still holds the connections), which is an error.
        _journalFailures++;
        _log.Error(rejected.Cause, "VS {VsId}: the journal rejected event {SequenceNr} ({Deltas} deltas); they are not durable",
            _config.Id, write.SequenceNr, write.Payload.Deltas.Length);
        Completed(write, 0);
    }

    private void Completed(PendingWrite write, int journaled)
    {
        _inFlight = null;
        _durableSequenceNr = write.SequenceNr;
        _deltasJournaled += journaled;
        _deltasSinceCheckpoint += journaled;
        foreach (var batch in write.Waiters)
            Reply(batch);
        if (_pendingCheckpoint is { } pending && pending.SequenceNr <= _durableSequenceNr)
            SaveCheckpoint();
        else if (_deltasSinceCheckpoint >= _settings.CheckpointEveryDeltas)
            TakeCheckpoint();
        Flush();
    }

    // ---------------------------------------------------------------- checkpoints

    private void TakeCheckpoint()
    {
        if (_pendingCheckpoint is not null || _checkpointSaving)
            return;
        // Everything produced so far goes into a numbered write now, so the checkpoint can name the
        // last delta it includes.
        Seal();
        var covers = _sealed.Count > 0 ? _sealed.Last().SequenceNr : _inFlight?.SequenceNr ?? _durableSequenceNr;
        if (covers == 0 || covers == _lastCheckpointSequenceNr)
            return;
        var records = ImmutableArray.CreateBuilder<ConnectionRecord>(_entries.Count);
        foreach (var entry in _entries.Values)
        {
            if (entry.Synced)
                records.Add(entry.ToRecord());
        }
        _pendingCheckpoint = (covers, new VsCheckpoint(records.DrainToImmutable(), DateTime.UtcNow.Ticks));
        _deltasSinceCheckpoint = 0;
        if (covers <= _durableSequenceNr)
            SaveCheckpoint();
        Flush();
    }

    private void SaveCheckpoint()
    {
        if (_pendingCheckpoint is not { } pending)
            return;
        _pendingCheckpoint = null;
        _checkpointSaving = true;
        _savingCheckpointConnections = pending.Checkpoint.Connections.Length;
        _savingCheckpointAt = pending.Checkpoint.TakenAtTicks;
        SnapshotStore.Tell(new SaveSnapshot(new SnapshotMetadata(PersistenceId, pending.SequenceNr, DateTime.UtcNow), pending.Checkpoint), Self);
    }

    private void OnCheckpointSaved(SaveSnapshotSuccess success)
    {
        _checkpointSaving = false;
        _checkpointsWritten++;
        _lastCheckpointAt = _savingCheckpointAt;
        _lastCheckpointConnections = _savingCheckpointConnections;
        _lastCheckpointSequenceNr = success.Metadata.SequenceNr;
        _keptCheckpoints.Enqueue(success.Metadata.SequenceNr);
        if (_keptCheckpoints.Count > _settings.CheckpointsKept)
        {
            while (_keptCheckpoints.Count > _settings.CheckpointsKept)
                _keptCheckpoints.Dequeue();
            // Older checkpoints only; the deltas are the history and are never deleted.
            DeleteSnapshots(new SnapshotSelectionCriteria(_keptCheckpoints.Peek() - 1));
        }
        if (_deltasSinceCheckpoint >= _settings.CheckpointEveryDeltas)
            TakeCheckpoint();
        if (_handingOff)
            StopIfDrained();
    }

    // ---------------------------------------------------------------- queries

    private VirtualSystemReplies.Status StatusNow() => StatusNow(_loadWindow.Current());

    private VirtualSystemReplies.Status StatusNow(LoadFigures? load) => new(
        _config.Id,
        _member.Value,
        _entries.Count,
        _liveActors,
        new VerdictCounts(_accepted, _policyDropped, _rejected, _outOfState, _overLimit,
            OverPacketRate: _overPacketRate, OverNewConnectionRate: _overNewConnectionRate, Overload: _overloadShed),
        _deltasJournaled,
        _checkpointsWritten,
        _recovered,
        _journalFailures,
        _lastCheckpointAt,
        _lastCheckpointConnections,
        DeltasNotDurable(),
        load?.WindowTicks,
        load?.Packets,
        load?.MeanConnections);

    /// <summary>Deltas produced but not yet journaled: unwritten, sealed, or in the write in flight.</summary>
    private long DeltasNotDurable()
    {
        long n = _unwritten.Count;
        foreach (var write in _sealed)
            n += write.Payload.Deltas.Length;
        if (_inFlight is { } inFlight)
            n += inFlight.Payload.Deltas.Length;
        return n;
    }

    /// <summary>
    /// Up to <c>Limit</c> connections with their current state. Passivated connections' records are
    /// exact already; each live connection's actor is asked for its state (its counters run ahead of
    /// the VS's copy), so the answer counts every packet of every batch answered before the query.
    /// A child that does not answer within <see cref="ListDeadline"/> (it crashed) is listed as of its
    /// last lifecycle report, and the log says how many were.
    /// </summary>
    private void OnList(VirtualSystemQueries.ListConnections query)
    {
        var limit = Math.Clamp(query.Limit, 0, _entries.Count);
        var entries = new Entry[limit];
        var i = 0;
        foreach (var entry in _entries.Values)
        {
            if (i == limit)
                break;
            entries[i++] = entry;
        }
        var listing = new PendingListing(++_nextListingId, Sender, entries, _entries.Count);
        for (var n = 0; n < entries.Length; n++)
        {
            if (entries[n].Child is { } child)
            {
                listing.Asked.Add(child, n);
                child.Tell(new ReportState(listing.Id));
            }
        }
        if (listing.Asked.Count == 0)
        {
            ReplyListing(listing);
            return;
        }
        _listings.Add(listing.Id, listing);
        Timers.StartSingleTimer(listing, new ListingDeadline(listing.Id), ListDeadline);
    }

    private void OnStateReport(StateReport report)
    {
        if (!_listings.TryGetValue(report.ListingId, out var listing) || !listing.Asked.Remove(Sender, out var n))
            return;
        listing.States[n] = (report.Key, report.State);
        if (listing.Asked.Count == 0)
        {
            _listings.Remove(listing.Id);
            Timers.Cancel(listing);
            ReplyListing(listing);
        }
    }

    private void OnListingDeadline(ListingDeadline deadline)
    {
        if (!_listings.Remove(deadline.ListingId, out var listing))
            return;
        _log.Warning("VS {VsId}: {Missing} connection actors did not report their state for a listing within {DeadlineMs} ms; they are listed as of their last lifecycle report",
            _config.Id, listing.Asked.Count, (long)ListDeadline.TotalMilliseconds);
        ReplyListing(listing);
    }

    private void ReplyListing(PendingListing listing)
    {
        var items = new ConnectionRecord[listing.Entries.Length];
        for (var n = 0; n < items.Length; n++)
        {
            var entry = listing.Entries[n];
            items[n] = listing.States[n] is { } reported
                ? new ConnectionRecord(reported.Key, reported.State, entry.Sync, entry.RuleName)
                : entry.ToRecord();
        }
        listing.ReplyTo.Tell(new VirtualSystemReplies.Connections(_config.Id, items, listing.Total));
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        Context.System.EventStream.Unsubscribe(Self, typeof(VslsConfigurationApplied));
        if (_meter is not null)
            _overload.Detach(_meter);
        if (_batchesOpen > 0 || _inFlight is not null || _unwritten.Count > 0)
            _log.Warning("VS {VsId} stopped with {Batches} batches unanswered and deltas not yet durable", _config.Id, _batchesOpen + _unwrittenWaiters.Count);
        base.PostStop();
    }
}
