using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

namespace VslsActors.Traffic.Tests;

public sealed class TrafficGeneratorTests
{
    private static readonly Topology s_sample = TopologyLoader.Load(Path.Combine(AppContext.BaseDirectory, "topology.conf"));
    private static readonly long T0 = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private static Dictionary<FlowKey, FlowIntent> Intents(TrafficGenerator g, Dictionary<FlowKey, FlowIntent> known)
    {
        foreach (var f in g.LiveFlows)
            known.TryAdd(f.Key, f.Intent);
        return known;
    }

    [Fact]
    public void Every_packet_meets_the_verdict_its_flow_was_made_for()
    {
        var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 7, Connections = 300 });
        var vs = new ReplayingVs(s_sample);
        var known = new Dictionary<FlowKey, FlowIntent>();
        var counts = new Dictionary<(FlowIntent, ReplayVerdict), int>();
        var now = T0;
        g.NextBatch(0, now); // starts the flows without sending anything
        for (var i = 0; i < 30_000; i++)
        {
            // One packet per call: every packet then comes from a flow that was live before the call.
            Intents(g, known);
            var batch = g.NextBatch(1, now);
            foreach (var r in batch.Records())
            {
                var intent = known[FlowKey.FromPacket(r.Packet.Header)];
                var verdict = vs.Process(r.Vs, r.Packet);
                counts[(intent, verdict)] = counts.GetValueOrDefault((intent, verdict)) + 1;
            }
            now += TimeSpan.TicksPerMillisecond;
        }

        Assert.True(counts.GetValueOrDefault((FlowIntent.Accepted, ReplayVerdict.Accepted)) > 25_000);
        Assert.Equal(0, counts.GetValueOrDefault((FlowIntent.Accepted, ReplayVerdict.OutOfState)));
        Assert.Equal(0, counts.GetValueOrDefault((FlowIntent.Accepted, ReplayVerdict.PolicyDropped)));
        Assert.True(counts.GetValueOrDefault((FlowIntent.PolicyDropped, ReplayVerdict.PolicyDropped)) > 0);
        Assert.Equal(0, counts.GetValueOrDefault((FlowIntent.PolicyDropped, ReplayVerdict.Accepted)));
        Assert.Equal(0, counts.GetValueOrDefault((FlowIntent.PolicyDropped, ReplayVerdict.OutOfState)));
        Assert.True(counts.GetValueOrDefault((FlowIntent.OutOfState, ReplayVerdict.OutOfState)) > 0);
        Assert.Equal(0, counts.GetValueOrDefault((FlowIntent.OutOfState, ReplayVerdict.Accepted)));
    }

    [Fact]
    public void Tcp_sessions_go_through_handshake_data_and_teardown()
    {
        var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 3, Connections = 50, LongLivedFraction = 0, PolicyDropFraction = 0, OutOfStateFraction = 0 });
        var perFlow = new Dictionary<FlowKey, List<TcpFlags>>();
        for (var i = 0; i < 20_000; i++)
        {
            foreach (var r in g.NextBatch(1, T0 + i).Records())
            {
                var h = r.Packet.Header;
                if (h.Protocol != IpProtocol.Tcp)
                    continue;
                var k = FlowKey.FromPacket(h);
                if (!perFlow.TryGetValue(k, out var list))
                    perFlow[k] = list = [];
                list.Add(h.Flags);
                Assert.InRange(h.IpLength, 40, 1500);
            }
        }
        // Flows seen from their first packet to their end (the generator ran long enough for most to finish).
        var complete = perFlow.Values.Where(l => l[0] == TcpFlags.Syn && (l[^1] == TcpFlags.Ack || (l[^1] & TcpFlags.Rst) != 0) && l.Count >= 4).ToList();
        Assert.True(complete.Count > 200, $"only {complete.Count} complete TCP sessions");
        foreach (var l in complete)
        {
            Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, l[1]);
            Assert.Equal(TcpFlags.Ack, l[2]);
        }
        Assert.Contains(complete, l => l.Count(f => f == (TcpFlags.Fin | TcpFlags.Ack)) == 2);
        Assert.Contains(complete, l => (l[^1] & TcpFlags.Rst) != 0);
        Assert.Contains(complete, l => l.Contains(TcpFlags.Psh | TcpFlags.Ack));
    }

    [Fact]
    public void Policy_drop_fraction_is_about_what_was_asked()
    {
        foreach (var fraction in new[] { 0.05, 0.2 })
        {
            var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 11, Connections = 500, PolicyDropFraction = fraction, LongLivedFraction = 0 });
            for (var i = 0; i < 400; i++)
                g.NextBatch(500, T0 + i * TimeSpan.TicksPerMillisecond);
            var s = g.Stats(T0);
            Assert.True(s.FlowsStarted > 10_000, $"{s.FlowsStarted} flows");
            var share = (double)s.PolicyDropFlows / s.FlowsStarted;
            Assert.InRange(share, fraction * 0.8, fraction * 1.2);
        }
    }

    [Fact]
    public void Dropped_flows_are_dropped_by_the_compiled_policy_of_their_vs()
    {
        var policies = s_sample.VirtualSystems.ToDictionary(v => v.Id, v => PolicyCompiler.Compile(v.Policy, "test", v.Name));
        var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 5, Connections = 200, PolicyDropFraction = 1, OutOfStateFraction = 0 });
        var batch = g.NextBatch(2_000, T0);
        Assert.Equal(2_000, batch.Count);
        foreach (var r in batch.Records())
        {
            var h = r.Packet.Header;
            Assert.NotEqual(RuleAction.Accept, policies[r.Vs].Decide(h.Source, h.Destination, h.Protocol, h.DestinationPort, h.IcmpType).Action);
        }
    }

    [Fact]
    public void Same_seed_gives_the_same_packets_and_another_seed_does_not()
    {
        TimedPacket[] Run(int seed)
        {
            var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = seed, Connections = 100 });
            var all = new List<TimedPacket>();
            for (var i = 0; i < 50; i++)
                all.AddRange(g.NextBatch(300, T0 + i * TimeSpan.TicksPerSecond).Records().Select(r => r.Packet));
            return all.ToArray();
        }

        Assert.Equal(Run(42), Run(42));
        Assert.NotEqual(Run(42), Run(43));
    }

    [Fact]
    public void Live_connection_count_is_held_at_the_target()
    {
        var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 2, Connections = 777 });
        Assert.Equal(0, g.LiveFlowCount);
        for (var i = 0; i < 100; i++)
        {
            g.NextBatch(1_000, T0 + i * TimeSpan.TicksPerMillisecond * 10);
            Assert.Equal(777, g.LiveFlowCount);
        }
    }

    [Fact]
    public void Traffic_reaches_every_vs_with_tcp_udp_and_icmp()
    {
        var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 9, Connections = 2_000 });
        var seenVs = new HashSet<VsId>();
        var seenProtocols = new HashSet<IpProtocol>();
        for (var i = 0; i < 20; i++)
        {
            foreach (var r in g.NextBatch(5_000, T0 + i).Records())
            {
                seenVs.Add(r.Vs);
                seenProtocols.Add(r.Packet.Header.Protocol);
            }
        }
        Assert.Equal(s_sample.VirtualSystems.Select(v => v.Id).ToHashSet(), seenVs);
        Assert.Contains(IpProtocol.Tcp, seenProtocols);
        Assert.Contains(IpProtocol.Udp, seenProtocols);
        Assert.Contains(IpProtocol.Icmp, seenProtocols);
    }

    [Fact]
    public void Paused_vss_get_no_packets_and_their_flows_wait()
    {
        var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 4, Connections = 500 });
        var paused = new HashSet<VsId> { new(1), new(8) };
        var batch = g.NextBatch(5_000, T0, paused);
        Assert.True(batch.Count > 0);
        Assert.DoesNotContain(new VsId(1), batch.PerVs.Keys);
        Assert.DoesNotContain(new VsId(8), batch.PerVs.Keys);
    }

    [Fact]
    public void Long_lived_synced_connections_survive_time_and_answer_their_probes()
    {
        var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 21, Connections = 400 });
        var vs = new ReplayingVs(s_sample);
        var now = T0;
        // 20 s of traffic at 4,000 packets/s in 100 ms steps.
        for (var i = 0; i < 200; i++)
        {
            foreach (var r in g.NextBatch(400, now).Records())
                vs.Process(r.Vs, r.Packet);
            now += TimeSpan.TicksPerMillisecond * 100;
        }
        var all = s_sample.VirtualSystems.Select(v => v.Id).ToHashSet();
        var probes = g.SyncedProbes(now, TimeSpan.FromSeconds(1), all);
        Assert.True(probes.Count > 20, $"only {probes.Count} synced connections");
        // Long-lived: many were opened more than 10 s ago and are still exchanging data.
        Assert.True(g.LiveFlows.Count(f => f.InDataPhase && now - f.OpenedAt > TimeSpan.TicksPerSecond * 10) > 20);
        Assert.Contains(probes, p => p.Probe.Protocol == IpProtocol.Tcp);
        foreach (var p in probes)
        {
            Assert.True(vs.Knows(p.Vs, p.Key));
            Assert.Equal(ReplayVerdict.Accepted, vs.Process(p.Vs, new TimedPacket(now, p.Probe)));
        }
        // The same probes after the VS lost its table are out of state: that is how a lost connection shows.
        var lost = probes.First().Vs;
        vs.Forget(lost);
        foreach (var p in probes.Where(p => p.Vs == lost))
            Assert.Equal(ReplayVerdict.OutOfState, vs.Process(p.Vs, new TimedPacket(now, p.Probe)));
    }

    [Fact]
    public void Delayed_sync_connections_younger_than_the_sync_delay_are_not_counted_as_synced()
    {
        var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 8, Connections = 400, LongLivedFraction = 1 });
        g.NextBatch(4_000, T0);
        var all = s_sample.VirtualSystems.Select(v => v.Id).ToHashSet();
        // 2 s in: immediate-sync flows count, delayed ones (3 s sync delay) do not yet.
        var early = g.SyncedProbes(T0 + TimeSpan.TicksPerSecond * 2, TimeSpan.Zero, all);
        Assert.All(early, p => Assert.Equal(SyncMode.Immediate, g.LiveFlows.Single(f => f.Id == p.FlowId).Sync));
        var later = g.SyncedProbes(T0 + TimeSpan.TicksPerSecond * 5, TimeSpan.Zero, all);
        Assert.Contains(later, p => g.LiveFlows.Single(f => f.Id == p.FlowId).Sync == SyncMode.Delayed);
    }

    [Fact]
    public void Delayed_sync_connections_count_only_once_the_vs_is_known_to_have_swept_past_their_due_time()
    {
        var g = new TrafficGenerator(s_sample, new TrafficOptions { Seed = 8, Connections = 400, LongLivedFraction = 1 });
        g.NextBatch(4_000, T0);
        var all = s_sample.VirtualSystems.Select(v => v.Id).ToHashSet();
        var at = T0 + TimeSpan.TicksPerSecond * 10;
        // Long after the sync delay, but the VS is not known to have swept since before the first packet:
        // its sweep may not have journaled a single delayed-sync connection, so none counts.
        var unswept = g.SyncedProbes(at, TimeSpan.Zero, all, sweptThrough: T0 - 1);
        Assert.DoesNotContain(unswept, p => p.Sync == SyncMode.Delayed);
        Assert.Contains(unswept, p => p.Sync == SyncMode.Immediate);
        // Swept past their due time (first packet + 3 s): they count, each with its first packet's timestamp.
        var swept = g.SyncedProbes(at, TimeSpan.Zero, all, sweptThrough: T0 + TimeSpan.TicksPerSecond * 4);
        Assert.Contains(swept, p => p.Sync == SyncMode.Delayed);
        Assert.All(swept.Where(p => p.Sync == SyncMode.Delayed), p => Assert.True(p.FirstPacketAt >= T0 && p.FirstPacketAt <= T0 + TimeSpan.TicksPerSecond * 4));
    }

    [Fact]
    public void Bad_options_are_refused_with_the_setting_named()
    {
        var e = Assert.Throws<ArgumentException>(() => new TrafficGenerator(s_sample, new TrafficOptions { PolicyDropFraction = 1.5 }));
        Assert.Contains("policy drop fraction", e.Message);
        e = Assert.Throws<ArgumentException>(() => new TrafficGenerator(s_sample, new TrafficOptions { Connections = 0 }));
        Assert.Contains("connections", e.Message);
    }
}
