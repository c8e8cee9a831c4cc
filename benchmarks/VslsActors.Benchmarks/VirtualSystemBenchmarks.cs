using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using BenchmarkDotNet.Attributes;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.VirtualSystems;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

namespace VslsActors.Benchmarks;

/// <summary>
/// Packets per second on established TCP connections through VS actors to their connection
/// actors (12 VSs, <see cref="ConnectionsPerVs"/> live connections each, batches of 256 packets
/// covering 32 connections), against the same packets through a single-threaded
/// <c>Dictionary&lt;FlowKey, ConnectionState&gt;</c> conntrack loop. The journal is in memory:
/// established traffic writes no delta, so this measures the actor pipeline. Figures are per packet.
/// </summary>
[MemoryDiagnoser]
public class VirtualSystemBenchmarks
{
    private const int VsCount = 12;
    private const int BatchSize = 256;
    private const int ConnectionsPerBatch = 32;
    private const int BatchesPerVs = 40;
    private const int PacketsPerInvoke = VsCount * BatchesPerVs * BatchSize;

    [Params(1000)]
    public int ConnectionsPerVs { get; set; }

    private ActorSystem _system = null!;
    private IActorRef[] _vss = [];
    private VirtualSystemCommands.ProcessPackets[][] _batches = [];
    private Dictionary<FlowKey, (FlowKey Key, ConnectionState State)> _baseline = new();

    [GlobalSetup]
    public void Setup()
    {
        _system = ActorSystem.Create("vs-bench", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
            akka.persistence.snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
            """));
        var member = new MemberName("member-1");
        var policy = new PolicyDefinition(ImmutableDictionary<string, ImmutableArray<AddressItem>>.Empty,
            [new PolicyRule("any", AddressCell.Any, AddressCell.Any, ServiceCell.Any, RuleAction.Accept)]);
        var server = NetAddress.FromIPv4(0xC0A8_010A);
        var now = DateTime.UtcNow.Ticks;
        var random = new Random(11);
        _vss = new IActorRef[VsCount];
        _batches = new VirtualSystemCommands.ProcessPackets[VsCount][];
        for (var v = 0; v < VsCount; v++)
        {
            var id = new VsId(v + 1);
            var config = new VirtualSystemConfig(id, $"vs{v + 1}", 10, [member], policy, ConnectionTimeouts.Default,
                ConnectionsPerVs * 2, TimeSpan.FromSeconds(3), [], []);
            _vss[v] = _system.ActorOf(VirtualSystemActor.Props(config, member, VirtualSystemSettings.Default), $"vs-{v + 1}");

            PacketHeader C(int c, TcpFlags f) => PacketHeader.Tcp(NetAddress.FromIPv4(0x0A000000u + (uint)(v << 16) + (uint)c), 40000, server, 443, f, 500);
            PacketHeader S(int c, TcpFlags f) => PacketHeader.Tcp(server, 443, NetAddress.FromIPv4(0x0A000000u + (uint)(v << 16) + (uint)c), 40000, f, 1500);
            // Handshakes, in three batches so each step sees the previous one.
            foreach (var step in new Func<int, PacketHeader>[] { c => C(c, TcpFlags.Syn), c => S(c, TcpFlags.Syn | TcpFlags.Ack), c => C(c, TcpFlags.Ack) })
            {
                var open = new TimedPacket[ConnectionsPerVs];
                for (var c = 0; c < ConnectionsPerVs; c++)
                    open[c] = new TimedPacket(now, step(c));
                _vss[v].Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(id, open), TimeSpan.FromMinutes(1)).Wait();
            }

            _batches[v] = new VirtualSystemCommands.ProcessPackets[BatchesPerVs];
            for (var b = 0; b < BatchesPerVs; b++)
            {
                var packets = new TimedPacket[BatchSize];
                var first = random.Next(ConnectionsPerVs - ConnectionsPerBatch);
                for (var i = 0; i < BatchSize; i++)
                {
                    var c = first + i % ConnectionsPerBatch;
                    packets[i] = new TimedPacket(now, random.Next(2) == 0 ? C(c, TcpFlags.Ack) : S(c, TcpFlags.Ack | TcpFlags.Psh));
                }
                _batches[v][b] = new VirtualSystemCommands.ProcessPackets(id, packets);
            }
        }

        // The baseline's table: the same connections, established, in one dictionary (each VS's
        // clients live in their own /16, so the keys of different VSs never collide).
        _baseline = new Dictionary<FlowKey, (FlowKey, ConnectionState)>();
        for (var v = 0; v < VsCount; v++)
        {
            foreach (var batch in _batches[v])
            {
                foreach (var p in batch.Packets)
                {
                    var key = FlowKey.FromPacket(p.Header);
                    if (_baseline.ContainsKey(key))
                        continue;
                    var originator = p.Header.SourcePort == 40000 ? p.Header : new PacketHeader(IpProtocol.Tcp, p.Header.Destination, 40000, p.Header.Source, 443, TcpFlags.Syn, 0, 0, 60);
                    var state = ConnectionStateMachine.Open(originator with { Flags = TcpFlags.Syn }, now);
                    var k = FlowKey.FromPacket(originator);
                    ConnectionStateMachine.Step(ref state, PacketHeader.Tcp(originator.Destination, 443, originator.Source, 40000, TcpFlags.Syn | TcpFlags.Ack, 60), FlowDirection.Reply, now);
                    ConnectionStateMachine.Step(ref state, originator with { Flags = TcpFlags.Ack }, FlowDirection.Original, now);
                    _baseline[key] = (k, state);
                }
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _system.Terminate().Wait();

    /// <summary>A single-threaded dictionary conntrack loop over the same packets.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = PacketsPerInvoke)]
    public long DictionaryConntrack()
    {
        long accepted = 0;
        var table = _baseline;
        foreach (var vs in _batches)
        {
            foreach (var batch in vs)
            {
                foreach (ref readonly var p in batch.Packets.AsSpan())
                {
                    ref var entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(table, FlowKey.FromPacket(p.Header));
                    if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref entry))
                        continue;
                    if (ConnectionStateMachine.Step(ref entry.State, p.Header, entry.Key.DirectionOf(p.Header), p.Timestamp).Accepted)
                        accepted++;
                }
            }
        }
        return accepted;
    }

    /// <summary>The same packets through 12 VS actors and their connection actors, all batches in flight at once.</summary>
    [Benchmark(OperationsPerInvoke = PacketsPerInvoke)]
    public long VirtualSystemActors()
    {
        var replies = new Task<VirtualSystemReplies.PacketVerdicts>[VsCount * BatchesPerVs];
        var n = 0;
        for (var b = 0; b < BatchesPerVs; b++)
        {
            for (var v = 0; v < VsCount; v++)
                replies[n++] = _vss[v].Ask<VirtualSystemReplies.PacketVerdicts>(_batches[v][b], TimeSpan.FromMinutes(1));
        }
        Task.WaitAll(replies);
        long accepted = 0;
        foreach (var r in replies)
            accepted += r.Result.Counts.Accepted;
        if (accepted != PacketsPerInvoke)
            throw new InvalidOperationException($"only {accepted} of {PacketsPerInvoke} packets accepted");
        return accepted;
    }
}
