using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

namespace VslsActors.Traffic;

/// <summary>Counters of what a <see cref="TrafficGenerator"/> has made so far (its own view, not the VSs').</summary>
/// <param name="FlowsStarted">Every flow started, whatever its intent.</param>
/// <param name="ConnectionsOpened">Flows started that the policy accepts (each opens a connection in its VS).</param>
/// <param name="ConnectionsSynced">Accepted flows that became synced (immediate: once established; delayed: once older than the VS's sync delay).</param>
/// <param name="PolicyDropFlows">Flows started that the policy drops or rejects.</param>
/// <param name="OutOfStateFlows">Lone packets sent with no connection.</param>
/// <param name="PacketsGenerated">Packets produced.</param>
public sealed record TrafficStats(long FlowsStarted, long ConnectionsOpened, long ConnectionsSynced, long PolicyDropFlows, long OutOfStateFlows, long PacketsGenerated);

/// <summary>A connection that a VS should still know, and one packet that asks it whether it does.</summary>
/// <param name="Vs">The flow's VS.</param>
/// <param name="FlowId">The generator's id of the flow.</param>
/// <param name="Key">The connection's key.</param>
/// <param name="Probe">A packet that continues the connection without changing it (see <see cref="TrafficGenerator.SyncedProbes"/>).</param>
/// <param name="Sync">The sync mode of the rule that accepted the connection.</param>
/// <param name="FirstPacketAt">Timestamp (UTC ticks) of the connection's first packet: the VS's FirstSeen, from which its sync delay runs.</param>
/// <param name="EstablishedAt">When the generator emitted its establishing packet (UTC ticks).</param>
/// <param name="SyncDelay">For a delayed-sync connection, its VS's sync delay (due at <paramref name="FirstPacketAt"/> + this).</param>
public sealed record FlowProbe(VsId Vs, long FlowId, FlowKey Key, PacketHeader Probe, SyncMode Sync = SyncMode.Immediate, long FirstPacketAt = 0, long EstablishedAt = 0, TimeSpan SyncDelay = default);

/// <summary>
/// Synthetic gateway traffic over a <see cref="Topology"/>'s virtual systems. Deterministic for a
/// seed: the same options and the same sequence of <see cref="NextBatch"/> calls give the same packets.
/// <list type="bullet">
/// <item>Flows are drawn per VS from its policy (<see cref="PolicyFlowTemplates"/>): TCP sessions
/// (SYN, SYN-ACK, ACK, data both ways with ACK / PSH+ACK of 40–1500 IP bytes, FIN exchange or RST),
/// UDP request/reply pairs, ICMP echo by identifier, other IP protocols both ways.</item>
/// <item><see cref="TrafficOptions.PolicyDropFraction"/> of new flows aim at what the policy refuses;
/// <see cref="TrafficOptions.OutOfStateFraction"/> are a lone ACK with no connection.</item>
/// <item><see cref="TrafficOptions.Connections"/> flows are live at all times; a VS gets new flows in
/// proportion to its weight. <see cref="TrafficOptions.LongLivedFraction"/> of the accepted flows keep
/// exchanging data for 30 s–3 min, so established connections exist across a failover.</item>
/// </list>
/// Not thread-safe: one driver loop owns it.
/// </summary>
public sealed class TrafficGenerator
{
    private readonly TrafficOptions _options;
    private readonly Random _random;
    private readonly PolicyFlowTemplates[] _templates;
    private readonly int[] _cumulativeWeights;
    private readonly List<LiveFlow> _live;
    private long _nextFlowId = 1;
    private long _flowsStarted, _opened, _syncedFinished, _policyDrops, _outOfState, _packets;

    /// <summary>Creates a generator over every VS of <paramref name="topology"/>.</summary>
    /// <exception cref="ArgumentException">The topology has no VS, or an option is out of range.</exception>
    public TrafficGenerator(Topology topology, TrafficOptions options)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (topology.VirtualSystems.IsDefaultOrEmpty)
            throw new ArgumentException("the topology has no virtual system to send traffic to", nameof(topology));
        _options = options;
        _random = new Random(options.Seed);
        _templates = new PolicyFlowTemplates[topology.VirtualSystems.Length];
        _cumulativeWeights = new int[_templates.Length];
        var total = 0;
        for (var i = 0; i < _templates.Length; i++)
        {
            _templates[i] = new PolicyFlowTemplates(topology.VirtualSystems[i]);
            total += Math.Max(1, topology.VirtualSystems[i].Weight);
            _cumulativeWeights[i] = total;
        }
        _live = new List<LiveFlow>(options.Connections);
    }

    /// <summary>Flows live now (always <see cref="TrafficOptions.Connections"/> after the first batch).</summary>
    public int LiveFlowCount => _live.Count;

    /// <summary>
    /// The next up to <paramref name="max"/> packets at <paramref name="nowTicks"/> (UTC ticks), grouped
    /// per VS. Flows are interleaved at random; the packets of one flow keep their order. Packets of a VS
    /// in <paramref name="paused"/> are not produced (its flows wait), so a driver can hold back a VS that
    /// does not keep up without stalling the others. Timestamps rise by one tick per packet from
    /// <paramref name="nowTicks"/>.
    /// </summary>
    public TrafficBatch NextBatch(int max, long nowTicks, IReadOnlySet<VsId>? paused = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        Fill(nowTicks);
        var perVs = new Dictionary<VsId, List<TimedPacket>>();
        var count = 0;
        var misses = 0;
        while (count < max && _live.Count > 0)
        {
            var index = _random.Next(_live.Count);
            var flow = _live[index];
            if (paused is not null && paused.Contains(flow.Vs))
            {
                // Bounded: when (nearly) every VS is paused, give up rather than spin.
                if (++misses > 64)
                    break;
                continue;
            }
            var header = flow.Next(_random, nowTicks);
            if (!perVs.TryGetValue(flow.Vs, out var list))
                perVs[flow.Vs] = list = [];
            list.Add(new TimedPacket(nowTicks + count, header));
            count++;
            if (flow.IsDone)
            {
                Finish(flow, nowTicks);
                _live[index] = Start(nowTicks);
            }
        }
        _packets += count;
        var result = new Dictionary<VsId, TimedPacket[]>(perVs.Count);
        foreach (var (vs, list) in perVs)
            result[vs] = list.ToArray();
        return new TrafficBatch(result, count);
    }

    /// <summary>What has been generated so far; synced counts are as of <paramref name="nowTicks"/>.</summary>
    public TrafficStats Stats(long nowTicks)
    {
        long syncedLive = 0;
        foreach (var f in _live)
        {
            if (f.IsSyncedAt(nowTicks, TimeSpan.Zero))
                syncedLive++;
        }
        return new TrafficStats(_flowsStarted, _opened, _syncedFinished + syncedLive, _policyDrops, _outOfState, _packets);
    }

    /// <summary>
    /// The live connections that their VS has synced (checkpointed or journaled) by <paramref name="atTicks"/>
    /// with <paramref name="margin"/> to spare, in <paramref name="vss"/> only, each with a probe packet:
    /// a TCP ACK from the client, or an ICMP echo reply from the server. After a failover the VS accepts
    /// the probe if the connection survived and drops it out-of-state if it was lost. UDP and other
    /// protocols have no such packet (a datagram without a connection opens one), so they are left out.
    /// </summary>
    /// <remarks>Delayed-sync flows count only if their sync was due (first packet + sync delay) by
    /// <c>sweptThrough</c> (UTC ticks), the latest instant the VS is known to have swept and journaled
    /// (default: no such bound): the VS journals them on a timer, not in answer to a packet.</remarks>
    public IReadOnlyList<FlowProbe> SyncedProbes(long atTicks, TimeSpan margin, IReadOnlySet<VsId> vss, long sweptThrough = long.MaxValue)
    {
        var result = new List<FlowProbe>();
        foreach (var f in _live)
        {
            if (!vss.Contains(f.Vs) || !f.InDataPhase || !f.IsSyncedAt(atTicks, margin, sweptThrough))
                continue;
            if (f.ProbePacket() is { } probe)
                result.Add(new FlowProbe(f.Vs, f.Id, f.Key, probe, f.Sync, f.FirstPacketAt, f.EstablishedAt, f.SyncDelay));
        }
        return result;
    }

    private void Fill(long now)
    {
        while (_live.Count < _options.Connections)
            _live.Add(Start(now));
    }

    private void Finish(LiveFlow flow, long now)
    {
        if (flow.IsSyncedAt(now, TimeSpan.Zero))
            _syncedFinished++;
    }

    private LiveFlow Start(long now)
    {
        var templates = PickVs();
        var roll = _random.NextDouble();
        FlowEndpoints ep;
        FlowIntent intent;
        if (roll < _options.PolicyDropFraction && templates.TryDrawDropped(_random, out ep))
            intent = FlowIntent.PolicyDropped;
        else if (roll < _options.PolicyDropFraction + _options.OutOfStateFraction && templates.TryDrawAccepted(_random, out ep))
        {
            // A stray segment of a connection the VS never saw: to the accepted service, so only state refuses it.
            intent = FlowIntent.OutOfState;
            ep = ep with
            {
                Kind = FlowKind.Tcp,
                Protocol = IpProtocol.Tcp,
                ClientPort = (ushort)_random.Next(32768, 61000),
                ServerPort = ep.Kind == FlowKind.Tcp ? ep.ServerPort : (ushort)443,
            };
        }
        else if (templates.TryDrawAccepted(_random, out ep))
            intent = FlowIntent.Accepted;
        else if (templates.TryDrawDropped(_random, out ep))
            intent = FlowIntent.PolicyDropped; // a VS that accepts nothing only ever sees dropped traffic
        else
            throw new InvalidOperationException($"virtual system {templates.Vs.Id} ({templates.Vs.Name}): no flow could be drawn from its policy");

        long endsAt = 0;
        var data = 0;
        if (intent == FlowIntent.Accepted)
        {
            if (_random.NextDouble() < _options.LongLivedFraction)
            {
                var span = _options.LongLivedMax.Ticks - _options.LongLivedMin.Ticks;
                endsAt = now + _options.LongLivedMin.Ticks + (span > 0 ? _random.NextInt64(span) : 0);
            }
            else
            {
                data = _random.Next(_options.ShortDataPacketsMin, _options.ShortDataPacketsMax + 1);
            }
        }
        var rst = _random.NextDouble() < _options.RstFraction;

        _flowsStarted++;
        switch (intent)
        {
            case FlowIntent.Accepted: _opened++; break;
            case FlowIntent.PolicyDropped: _policyDrops++; break;
            default: _outOfState++; break;
        }
        var syncDelay = ep.Decision.Sync == SyncMode.Delayed ? templates.Vs.SyncDelay : TimeSpan.Zero;
        return new LiveFlow(_nextFlowId++, templates.Vs.Id, ep, intent, now, endsAt, data, rst, syncDelay);
    }

    private PolicyFlowTemplates PickVs()
    {
        var total = _cumulativeWeights[^1];
        var r = _random.Next(total);
        var i = Array.BinarySearch(_cumulativeWeights, r + 1);
        if (i < 0)
            i = ~i;
        return _templates[i];
    }

    // For tests: the live flows.
    internal IReadOnlyList<LiveFlow> LiveFlows => _live;
}
