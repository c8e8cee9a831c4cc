using Akka.Actor;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using static VslsActors.Cluster.VirtualSystems.ConnectionMessages;

namespace VslsActors.Cluster.VirtualSystems;

/// <summary>
/// One tracked connection of a VS: its key (which remembers the originator), its protocol state
/// and counters (<see cref="ConnectionState"/>). Steps every packet its VS forwards through
/// <see cref="ConnectionStateMachine.Step"/>, adds its verdicts to the batch's shared
/// <see cref="BatchTally"/>, sends the lifecycle changes the batch caused (if any), and reports itself idle — expired, or unused for
/// the passivation time — so the VS can drop it or keep it as a compact record.
/// </summary>
/// <remarks>
/// <para>One timer, re-armed lazily: packets never touch it; when it fires the actor computes the
/// next deadline (expiry from the state's <see cref="ConnectionState.LastSeen"/>, passivation from
/// the wall-clock time of the last batch) and re-arms, or reports. Packet timestamps are compared
/// with the wall clock, so they must be wall-clock UTC ticks (ingress stamps packets on arrival).</para>
/// <para>Expiry is decided by the timer only: packets that arrive after the deadline but before the
/// timer's report is handled still step the old state (a grace of at most one timer latency).</para>
/// </remarks>
internal sealed class ConnectionActor : ReceiveActor, IWithTimers
{
    private sealed class IdleCheck
    {
        public static readonly IdleCheck Instance = new();
        private IdleCheck() { }
    }

    private readonly ConnectionTimeouts _timeouts;
    private readonly long _passivateAfterTicks;
    private FlowKey _key;
    private ConnectionState _state;
    private long _packetsSeen;
    private long _lastActivity;
    private bool _idleReported;

    /// <summary>Props for a connection starting from <paramref name="state"/> (just opened, or rehydrated from its record).</summary>
    public static Props Props(FlowKey key, ConnectionState state, ConnectionTimeouts timeouts, TimeSpan passivateAfter) =>
        Akka.Actor.Props.Create(() => new ConnectionActor(key, state, timeouts, passivateAfter));

    public ConnectionActor(FlowKey key, ConnectionState state, ConnectionTimeouts timeouts, TimeSpan passivateAfter)
    {
        _key = key;
        _state = state;
        _timeouts = timeouts;
        _passivateAfterTicks = passivateAfter.Ticks;
        _lastActivity = DateTime.UtcNow.Ticks;

        Receive<ConnectionPackets>(OnPackets);
        Receive<IdleCheck>(_ => OnIdleCheck());
        Receive<ReportState>(r => Sender.Tell(new StateReport(r.ListingId, _key, _state)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Arm(DateTime.UtcNow.Ticks);

    private void OnPackets(ConnectionPackets batch)
    {
        int accepted = 0, outOfState = 0;
        List<LifecycleChange>? changes = null;
        var packets = batch.Batch;
        var count = batch.Count;
        for (var i = 0; i < count; i++)
        {
            ref readonly var p = ref packets[batch.IndexAt(i)];
            var result = ConnectionStateMachine.Step(ref _state, p.Header, _key.DirectionOf(p.Header), p.Timestamp);
            if (result.Accepted)
                accepted++;
            else
                outOfState++;
            if (result.Transition != LifecycleTransition.None)
            {
                // A new SYN on a closed connection is a new connection whose originator may be the old responder.
                if (result.Transition == LifecycleTransition.Reopened)
                    _key = FlowKey.FromPacket(p.Header);
                (changes ??= []).Add(new LifecycleChange(result.Transition, _key, _state));
            }
        }
        _packetsSeen += count;
        _lastActivity = DateTime.UtcNow.Ticks;
        if (changes is not null)
            Context.Parent.Tell(new ConnectionChanges(changes.ToArray()));
        // After the changes (see BatchTally): the last child to finish completes the batch.
        if (batch.Tally.Release(accepted, outOfState))
            Context.Parent.Tell(batch.Tally);
        if (_idleReported)
        {
            // The VS ignored our idle report because these packets were on their way: watch again.
            _idleReported = false;
            Arm(_lastActivity);
        }
    }

    private void OnIdleCheck()
    {
        var now = DateTime.UtcNow.Ticks;
        var expiresAt = ConnectionStateMachine.ExpiresAt(_state, _timeouts);
        var passivateAt = _lastActivity + _passivateAfterTicks;
        if (now >= expiresAt || now >= passivateAt)
        {
            _idleReported = true;
            Context.Parent.Tell(new ConnectionIdle(_key, _packetsSeen, _state, Expired: now >= expiresAt));
            return;
        }
        Arm(now);
    }

    private void Arm(long now)
    {
        var due = Math.Min(ConnectionStateMachine.ExpiresAt(_state, _timeouts), _lastActivity + _passivateAfterTicks);
        var delay = TimeSpan.FromTicks(Math.Max(due - now, 0) + TimeSpan.TicksPerMillisecond);
        Timers.StartSingleTimer(IdleCheck.Instance, IdleCheck.Instance, delay);
    }
}
