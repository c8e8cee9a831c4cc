using BenchmarkDotNet.Attributes;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Benchmarks;

/// <summary>
/// Flow keying per packet: building the canonical <see cref="FlowKey"/> from a packet header and
/// taking its <see cref="FlowKey.StableHash"/>, against a baseline that xors the raw tuple fields
/// (symmetric too, but weak and not a key). Figures are per packet (<c>OperationsPerInvoke</c>).
/// </summary>
[MemoryDiagnoser]
public class FlowBenchmarks
{
    private const int Count = 4096;
    private PacketHeader[] _packets = [];
    private FlowKey[] _keys = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _packets = new PacketHeader[Count];
        _keys = new FlowKey[Count];
        for (int i = 0; i < Count; i++)
        {
            // 80 % IPv4, 20 % IPv6; TCP, UDP and ICMP echo in roughly real-world proportions.
            bool v6 = random.Next(5) == 0;
            NetAddress Address() => v6
                ? NetAddress.FromIPv6(0x2001_0db8_0000_0000UL | (uint)random.Next(), (ulong)random.NextInt64())
                : NetAddress.FromIPv4((uint)random.Next());
            var source = Address();
            var destination = Address();
            var roll = random.Next(10);
            _packets[i] = roll switch
            {
                < 7 => PacketHeader.Tcp(source, (ushort)random.Next(1024, 65536), destination, 443, TcpFlags.Ack, 1500),
                < 9 => PacketHeader.Udp(source, (ushort)random.Next(1024, 65536), destination, 53, 80),
                _ => PacketHeader.Icmp(source, destination, v6 ? IcmpTypes.EchoRequestV6 : IcmpTypes.EchoRequestV4, (ushort)random.Next(65536), 84),
            };
            _keys[i] = FlowKey.FromPacket(_packets[i]);
        }
    }

    /// <summary>Baseline: xor of the tuple's fields, the cheapest symmetric "hash" there is.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public ulong TupleXor()
    {
        ulong sum = 0;
        var packets = _packets;
        for (int i = 0; i < packets.Length; i++)
        {
            ref readonly var p = ref packets[i];
            var t = (p.Source, p.SourcePort, p.Destination, p.DestinationPort, p.Protocol);
            sum += t.Source.High ^ t.Source.Low ^ t.Destination.High ^ t.Destination.Low ^ t.SourcePort ^ t.DestinationPort ^ (ulong)t.Protocol;
        }
        return sum;
    }

    /// <summary>The hot path: canonical key from the packet (per-protocol ports, ordering) plus its stable hash.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public ulong KeyFromPacketAndStableHash()
    {
        ulong sum = 0;
        var packets = _packets;
        for (int i = 0; i < packets.Length; i++)
            sum += FlowKey.FromPacket(packets[i]).StableHash;
        return sum;
    }

    /// <summary>The stable hash alone, on keys built beforehand.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public ulong StableHashOfPrebuiltKeys()
    {
        ulong sum = 0;
        var keys = _keys;
        for (int i = 0; i < keys.Length; i++)
            sum += keys[i].StableHash;
        return sum;
    }
}
