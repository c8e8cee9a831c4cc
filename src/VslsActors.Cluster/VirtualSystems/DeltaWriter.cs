using Akka.Actor;
using Akka.Persistence;
using VslsActors.Cluster.Protocol;

namespace VslsActors.Cluster.VirtualSystems;

/// <summary>
/// Writes a VS's <see cref="ConnectionDeltas"/> to the journal with the journal protocol
/// (<see cref="WriteMessages"/>), under the VS's own persistence id and sequence numbers, and tells
/// its VS the outcome. It exists because a persistent actor cannot survive a journal failure:
/// <c>Eventsourced</c> calls <c>OnPersistFailure</c> and then stops itself unconditionally, which
/// would throw away the VS's live connection table. Here a failure is only a reply, and the VS retries.
/// </summary>
/// <remarks>
/// A retry first reads event <c>SequenceNr</c> back from the journal: a write that failed on a
/// timeout may have committed, and writing the same sequence number twice would fail forever on the
/// journal's unique key. If the event there is this write's payload, the write is done. If it is
/// another payload, another incarnation of the VS (on the member that took it over) wrote it: this
/// incarnation is stale and is told so (<see cref="Fenced"/>). The journal's unique
/// (persistence id, sequence number) key is what fences a VS that still runs on a member the
/// cluster has already failed over from. (The writer id stored beside an event cannot tell: the
/// SQL journal stores its own per-process id, not the one this actor sends.)
/// </remarks>
internal sealed class DeltaWriter : ReceiveActor
{
    /// <summary>Write <see cref="Payload"/> as event <see cref="SequenceNr"/>; <see cref="IsRetry"/> checks whether it is already there first.</summary>
    internal sealed record Write(long SequenceNr, ConnectionDeltas Payload, bool IsRetry) : INoSerializationVerificationNeeded;

    /// <summary>Event <see cref="SequenceNr"/> is durable.</summary>
    internal sealed record Written(long SequenceNr) : INoSerializationVerificationNeeded;

    /// <summary>The write failed (database unavailable, timeout): retry later.</summary>
    internal sealed record WriteFailed(long SequenceNr, Exception Cause) : INoSerializationVerificationNeeded;

    /// <summary>Event <see cref="SequenceNr"/> exists with another payload: another incarnation of the VS writes this journal now.</summary>
    internal sealed record Fenced(long SequenceNr) : INoSerializationVerificationNeeded;

    /// <summary>The journal refused the event itself (e.g. it cannot be serialized): retrying cannot help.</summary>
    internal sealed record WriteRejected(long SequenceNr, Exception Cause) : INoSerializationVerificationNeeded;

    private const int InstanceId = 1;
    private readonly string _persistenceId;
    private readonly IActorRef _journal;
    private readonly string _writerGuid = Guid.NewGuid().ToString();
    private Write? _checking;
    private ConnectionDeltas? _found;

    public static Props Props(string persistenceId, IActorRef journal) =>
        Akka.Actor.Props.Create(() => new DeltaWriter(persistenceId, journal));

    public DeltaWriter(string persistenceId, IActorRef journal)
    {
        _persistenceId = persistenceId;
        _journal = journal;

        Receive<Write>(w =>
        {
            if (w.IsRetry)
            {
                _checking = w;
                _found = null;
                _journal.Tell(new ReplayMessages(w.SequenceNr, w.SequenceNr, 1, _persistenceId, Self));
            }
            else
            {
                Send(w);
            }
        });
        Receive<ReplayedMessage>(m =>
        {
            if (_checking is { } w && m.Persistent.SequenceNr == w.SequenceNr)
                _found = m.Persistent.Payload as ConnectionDeltas;
        });
        Receive<RecoverySuccess>(r =>
        {
            if (_checking is not { } w)
                return;
            _checking = null;
            var found = _found;
            _found = null;
            if (r.HighestSequenceNr < w.SequenceNr)
                Send(w);
            else if (found is not null && found.Deltas.SequenceEqual(w.Payload.Deltas))
                Context.Parent.Tell(new Written(w.SequenceNr));
            else
                Context.Parent.Tell(new Fenced(w.SequenceNr));
        });
        Receive<ReplayMessagesFailure>(f =>
        {
            if (_checking is not { } w)
                return;
            _checking = null;
            Context.Parent.Tell(new WriteFailed(w.SequenceNr, f.Cause));
        });
        Receive<WriteMessageSuccess>(m => Context.Parent.Tell(new Written(m.Persistent.SequenceNr)));
        Receive<WriteMessageFailure>(m => Context.Parent.Tell(new WriteFailed(m.Persistent.SequenceNr, m.Cause)));
        Receive<WriteMessageRejected>(m => Context.Parent.Tell(new WriteRejected(m.Persistent.SequenceNr, m.Cause)));
        // Batch-level acknowledgements; the per-message replies above carry the outcome.
        Receive<WriteMessagesSuccessful>(_ => { });
        Receive<WriteMessagesFailed>(_ => { });
    }

    private void Send(Write w)
    {
        var persistent = new Persistent(w.Payload, w.SequenceNr, _persistenceId, string.Empty, false, ActorRefs.NoSender, _writerGuid);
        _journal.Tell(new WriteMessages([new AtomicWrite(persistent)], Self, InstanceId));
    }
}
