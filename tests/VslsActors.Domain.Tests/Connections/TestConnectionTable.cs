using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;

namespace VslsActors.Domain.Tests.Connections;

/// <summary>
/// The smallest connection table that uses the state machine the way a VS does: look up by the
/// symmetric key, expire before stepping, open on a first packet, re-key on reopen. Lets the
/// tests tell stories across several connections.
/// </summary>
internal sealed class TestConnectionTable(ConnectionTimeouts timeouts)
{
    private readonly Dictionary<FlowKey, (FlowKey Key, ConnectionState State)> _connections = new();

    public int Count => _connections.Count;

    public int OutOfStateDrops { get; private set; }

    public ConnectionState Get(FlowKey key) => _connections[key].State;

    public StepResult Receive(in PacketHeader packet, long timestamp)
    {
        var lookup = FlowKey.FromPacket(packet);
        if (_connections.TryGetValue(lookup, out var entry) && ConnectionStateMachine.IsExpired(entry.State, timestamp, timeouts))
        {
            _connections.Remove(lookup);
            entry = default;
        }
        if (entry.State.Phase != 0)
        {
            var state = entry.State;
            var result = ConnectionStateMachine.Step(ref state, packet, entry.Key.DirectionOf(packet), timestamp);
            if (!result.Accepted)
                OutOfStateDrops++;
            var key = result.Transition == LifecycleTransition.Reopened ? lookup : entry.Key;
            _connections[lookup] = (key, state);
            return result;
        }
        var verdict = ConnectionStateMachine.CanOpen(packet);
        if (!verdict.Opens)
        {
            OutOfStateDrops++;
            return StepResult.Drop(verdict.Reason);
        }
        _connections[lookup] = (lookup, ConnectionStateMachine.Open(packet, timestamp));
        return StepResult.Accept;
    }
}
