using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

namespace VslsActors.Traffic.Tests;

/// <summary>What a replayed packet met.</summary>
internal enum ReplayVerdict { Accepted, PolicyDropped, OutOfState }

/// <summary>
/// A minimal VS for tests: the policy decides first packets, the domain's state machine decides
/// the rest, exactly the decision order of a stateful gateway (connection table first). Used to
/// show that the generator's flows are what it claims they are.
/// </summary>
internal sealed class ReplayingVs
{
    private readonly Dictionary<VsId, CompiledPolicy> _policies = [];
    private readonly Dictionary<(VsId, FlowKey), (FlowKey Key, ConnectionState State)> _table = [];

    public ReplayingVs(Topology topology)
    {
        foreach (var vs in topology.VirtualSystems)
            _policies[vs.Id] = PolicyCompiler.Compile(vs.Policy, "test", vs.Name);
    }

    public ReplayVerdict Process(VsId vs, in TimedPacket packet)
    {
        var h = packet.Header;
        var key = FlowKey.FromPacket(h);
        if (_table.TryGetValue((vs, key), out var entry))
        {
            var state = entry.State;
            var result = ConnectionStateMachine.Step(ref state, h, entry.Key.DirectionOf(h), packet.Timestamp);
            if (!result.Accepted)
                return ReplayVerdict.OutOfState;
            _table[(vs, key)] = (result.Transition == LifecycleTransition.Reopened ? key : entry.Key, state);
            return ReplayVerdict.Accepted;
        }
        if (!ConnectionStateMachine.CanOpen(h).Opens)
            return ReplayVerdict.OutOfState;
        var decision = _policies[vs].Decide(h.Source, h.Destination, h.Protocol, h.DestinationPort, h.IcmpType);
        if (decision.Action != RuleAction.Accept)
            return ReplayVerdict.PolicyDropped;
        _table[(vs, key)] = (key, ConnectionStateMachine.Open(h, packet.Timestamp));
        return ReplayVerdict.Accepted;
    }

    public bool Knows(VsId vs, FlowKey key) => _table.ContainsKey((vs, key));

    /// <summary>Forgets every connection of <paramref name="vs"/> (a failover with nothing synced).</summary>
    public void Forget(VsId vs)
    {
        foreach (var k in _table.Keys.Where(k => k.Item1 == vs).ToList())
            _table.Remove(k);
    }
}
