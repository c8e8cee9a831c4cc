using System.Collections.Immutable;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Benchmarks;

/// <summary>
/// First-packet decisions on a generated, realistic 1,000-rule policy (CIDRs of both families,
/// nested groups, port ranges, negated cells, ICMP and GRE rules) over 4,096 prebuilt packets,
/// most of which fall to the last rule or to the implicit cleanup rule, the worst case for a
/// rule-by-rule walk. Baseline: the rule-by-rule reference evaluator on the same packets.
/// Figures are per decision (OperationsPerInvoke).
/// </summary>
[MemoryDiagnoser]
public class PolicyBenchmarks
{
    private const int RuleCount = 1000;
    private const int PacketCount = 4096;

    private Packet[] _packets = [];
    private CompiledPolicy _compiled = null!;
    private ReferencePolicyEvaluator _reference = null!;
    private LinearPolicy _linear = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(20240611);
        var policy = GeneratePolicy(random);
        var watch = Stopwatch.StartNew();
        _compiled = PolicyCompiler.Compile(policy, "benchmark");
        watch.Stop();
        _reference = new ReferencePolicyEvaluator(policy);
        _linear = new LinearPolicy(policy);
        _packets = GeneratePackets(random, policy);

        int cleanup = 0, last = 0, other = 0;
        foreach (var p in _packets)
        {
            var d = _compiled.Decide(p.Source, p.Destination, p.Protocol, p.Port, p.IcmpType);
            // The three must agree, or the figures compare different work.
            if (d != _reference.Decide(p.Source, p.Destination, p.Protocol, p.Port, p.IcmpType)
                || d.RuleIndex != _linear.Decide(p.Source, p.Destination, p.Protocol, p.Port, p.IcmpType))
            {
                throw new InvalidOperationException($"evaluators disagree on {p}");
            }
            if (d.IsImplicitCleanup)
                cleanup++;
            else if (d.RuleIndex == RuleCount - 1)
                last++;
            else
                other++;
        }
        Console.WriteLine(
            $"// policy: {_compiled}; compiled in {watch.Elapsed.TotalMilliseconds:F0} ms; "
            + $"packets: {cleanup} implicit cleanup, {last} last rule, {other} earlier rules");
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = PacketCount)]
    public int Reference()
    {
        var sum = 0;
        foreach (ref readonly var p in _packets.AsSpan())
            sum += _reference.Decide(p.Source, p.Destination, p.Protocol, p.Port, p.IcmpType).RuleIndex;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = PacketCount)]
    public int LinearPreResolved()
    {
        var sum = 0;
        foreach (ref readonly var p in _packets.AsSpan())
            sum += _linear.Decide(p.Source, p.Destination, p.Protocol, p.Port, p.IcmpType);
        return sum;
    }

    [Benchmark(OperationsPerInvoke = PacketCount)]
    public int Compiled()
    {
        var sum = 0;
        foreach (ref readonly var p in _packets.AsSpan())
            sum += _compiled.Decide(p.Source, p.Destination, p.Protocol, p.Port, p.IcmpType).RuleIndex;
        return sum;
    }

    private static Packet? Aimed(Random random, PolicyDefinition policy)
    {
        var rule = policy.Rules[random.Next(policy.Rules.Length - 1)];
        if (rule.Source.Negated
            || FirstPrefix(policy, rule.Source.Items[0]) is not { } source
            || FirstPrefix(policy, rule.Destination.Items[0]) is not { } destination)
        {
            return null;
        }
        return rule.Service.Items[0] switch
        {
            ServiceItem.Ports p => new Packet(source.Network, destination.Network, p.Protocol, p.Low, 0),
            ServiceItem.IcmpType t => new Packet(source.Network, destination.Network, t.Protocol, 0, t.Type ?? 0),
            ServiceItem.WholeProtocol w => new Packet(source.Network, destination.Network, w.Number, 0, 0),
            _ => new Packet(source.Network, destination.Network, IpProtocol.Tcp, 80, 0),
        };
    }

    private static IpPrefix? FirstPrefix(PolicyDefinition policy, AddressItem item) => item switch
    {
        AddressItem.Prefix p => p.Value,
        AddressItem.Group g => FirstPrefix(policy, policy.Groups[g.Name][0]),
        _ => null,
    };

    /// <summary>
    /// A fairer linear walk than the reference evaluator: groups flattened to address ranges at
    /// construction, so each rule costs range comparisons only. It shows what the bit vectors
    /// save over a rule walk that does no string work.
    /// </summary>
    private sealed class LinearPolicy
    {
        private readonly (UInt128 Low, UInt128 High)[][] _sources;
        private readonly (UInt128 Low, UInt128 High)[][] _destinations;
        private readonly bool[] _sourceNegated;
        private readonly bool[] _destinationNegated;
        private readonly ServiceCell[] _services;

        public LinearPolicy(PolicyDefinition policy)
        {
            var n = policy.Rules.Length;
            _sources = new (UInt128, UInt128)[n][];
            _destinations = new (UInt128, UInt128)[n][];
            _sourceNegated = new bool[n];
            _destinationNegated = new bool[n];
            _services = new ServiceCell[n];
            for (var i = 0; i < n; i++)
            {
                var rule = policy.Rules[i];
                _sources[i] = Flatten(policy, rule.Source.Items);
                _destinations[i] = Flatten(policy, rule.Destination.Items);
                _sourceNegated[i] = rule.Source.Negated;
                _destinationNegated[i] = rule.Destination.Negated;
                _services[i] = rule.Service;
            }
        }

        public int Decide(NetAddress source, NetAddress destination, IpProtocol protocol, ushort port, byte icmpType)
        {
            for (var i = 0; i < _sources.Length; i++)
            {
                if (In(_sources[i], source.Value) != _sourceNegated[i]
                    && In(_destinations[i], destination.Value) != _destinationNegated[i]
                    && ServiceMatches(_services[i], protocol, port, icmpType))
                {
                    return i;
                }
            }
            return -1;
        }

        private static bool In((UInt128 Low, UInt128 High)[] ranges, UInt128 value)
        {
            foreach (var (low, high) in ranges)
            {
                if (value >= low && value <= high)
                    return true;
            }
            return false;
        }

        private static bool ServiceMatches(ServiceCell cell, IpProtocol protocol, ushort port, byte icmpType)
        {
            var any = false;
            foreach (var item in cell.Items)
            {
                any = item switch
                {
                    ServiceItem.Any => true,
                    ServiceItem.Ports p => p.Protocol == protocol && port >= p.Low && port <= p.High,
                    ServiceItem.IcmpType t => t.Protocol == protocol && (t.Type is null || t.Type == icmpType),
                    ServiceItem.WholeProtocol w => w.Number == protocol,
                    _ => false,
                };
                if (any)
                    break;
            }
            return any != cell.Negated;
        }

        private static (UInt128, UInt128)[] Flatten(PolicyDefinition policy, ImmutableArray<AddressItem> items)
        {
            var ranges = new List<(UInt128, UInt128)>();
            void Add(AddressItem item)
            {
                switch (item)
                {
                    case AddressItem.Any: ranges.Add((UInt128.Zero, UInt128.MaxValue)); break;
                    case AddressItem.Prefix p: ranges.Add((p.Value.First, p.Value.Last)); break;
                    case AddressItem.Group g:
                        foreach (var member in policy.Groups[g.Name])
                            Add(member);
                        break;
                }
            }
            foreach (var item in items)
                Add(item);
            return [.. ranges];
        }
    }

    private readonly record struct Packet(NetAddress Source, NetAddress Destination, IpProtocol Protocol, ushort Port, byte IcmpType);

    private static readonly ushort[] WellKnownTcp = [22, 25, 80, 110, 143, 389, 443, 445, 636, 993, 1433, 1521, 3306, 3389, 5432, 8080, 8443];
    private static readonly ushort[] WellKnownUdp = [53, 67, 69, 123, 161, 500, 514, 1812, 4500];

    /// <summary>
    /// Internal networks in 10/8 and 2001:db8::/32 with 60 groups (some nesting earlier ones),
    /// 999 rules between them, and a last rule letting the 192.168/16 clients out on 443.
    /// </summary>
    private static PolicyDefinition GeneratePolicy(Random random)
    {
        var groups = ImmutableDictionary.CreateBuilder<string, ImmutableArray<AddressItem>>();
        for (var g = 0; g < 60; g++)
        {
            var items = new List<AddressItem>();
            var count = random.Next(3, 13);
            for (var i = 0; i < count; i++)
                items.Add(new AddressItem.Prefix(InternalPrefix(random)));
            if (g >= 5 && random.Next(5) == 0)
                items.Add(new AddressItem.Group($"net-{random.Next(g):00}"));
            groups.Add($"net-{g:00}", [.. items]);
        }

        var rules = new List<PolicyRule>(RuleCount);
        for (var r = 0; r < RuleCount - 1; r++)
        {
            var negated = random.Next(10) == 0;
            var source = new AddressCell(AddressItems(random), negated);
            var destination = new AddressCell(AddressItems(random));
            // A negated cell matches almost everything, so such rules are kept narrow on service,
            // as they are in real rule bases ("not from the admin nets to RDP: drop").
            var service = negated
                ? new ServiceCell([new ServiceItem.Ports(IpProtocol.Tcp, 3389, 3389)])
                : ServiceItems(random);
            var action = (RuleAction)random.Next(3);
            rules.Add(new PolicyRule($"rule-{r:000}", source, destination, service, action,
                random.Next(4) == 0 ? TrackMode.Log : TrackMode.None,
                (SyncMode)random.Next(3)));
        }
        rules.Add(new PolicyRule(
            "clients-out-https",
            new AddressCell([new AddressItem.Prefix(IpPrefix.Parse("192.168.0.0/16"))]),
            AddressCell.Any,
            new ServiceCell([new ServiceItem.Ports(IpProtocol.Tcp, 443, 443), new ServiceItem.Ports(IpProtocol.Udp, 443, 443)]),
            RuleAction.Accept,
            TrackMode.Log,
            SyncMode.Delayed));
        return new PolicyDefinition(groups.ToImmutable(), [.. rules]);
    }

    private static ImmutableArray<AddressItem> AddressItems(Random random)
    {
        var count = random.Next(1, 4);
        var items = ImmutableArray.CreateBuilder<AddressItem>(count);
        for (var i = 0; i < count; i++)
        {
            items.Add(random.Next(3) == 0
                ? new AddressItem.Group($"net-{random.Next(60):00}")
                : new AddressItem.Prefix(InternalPrefix(random)));
        }
        return items.ToImmutable();
    }

    private static ServiceCell ServiceItems(Random random)
    {
        if (random.Next(20) == 0)
            return ServiceCell.Any;
        var count = random.Next(1, 4);
        var items = ImmutableArray.CreateBuilder<ServiceItem>(count);
        for (var i = 0; i < count; i++)
        {
            switch (random.Next(10))
            {
                case < 5:
                    var port = WellKnownTcp[random.Next(WellKnownTcp.Length)];
                    items.Add(new ServiceItem.Ports(IpProtocol.Tcp, port, port));
                    break;
                case 5:
                    var low = (ushort)random.Next(1024, 60000);
                    items.Add(new ServiceItem.Ports(IpProtocol.Tcp, low, (ushort)(low + random.Next(1, 500))));
                    break;
                case < 8:
                    var udp = WellKnownUdp[random.Next(WellKnownUdp.Length)];
                    items.Add(new ServiceItem.Ports(IpProtocol.Udp, udp, udp));
                    break;
                case 8:
                    items.Add(new ServiceItem.IcmpType(IpProtocol.Icmp, 8));
                    break;
                default:
                    items.Add(new ServiceItem.WholeProtocol((IpProtocol)47));
                    break;
            }
        }
        return new ServiceCell(items.ToImmutable());
    }

    private static IpPrefix InternalPrefix(Random random)
    {
        if (random.Next(5) == 0)
        {
            var length = random.Next(48, 65);
            var high = (0x2001_0db8UL << 32) | (ulong)random.NextInt64(0, 1L << 32);
            high &= ulong.MaxValue << (64 - length);
            return IpPrefix.Parse($"{NetAddress.FromIPv6(high, 0)}/{length}");
        }
        var v4Length = random.Next(16, 33);
        var value = (10u << 24) | (uint)random.Next(0, 1 << 24);
        value &= uint.MaxValue << (32 - v4Length);
        return IpPrefix.Parse($"{NetAddress.FromIPv4(value)}/{v4Length}");
    }

    /// <summary>
    /// Half the packets are clients in 192.168/16 going out on 443 (the last rule); one in ten is
    /// aimed at a random rule (its first source and destination prefix, its first service), so
    /// some decisions end early; the rest are internal traffic of both families, ICMP and GRE,
    /// mostly matching no rule.
    /// </summary>
    private static Packet[] GeneratePackets(Random random, PolicyDefinition policy)
    {
        var packets = new Packet[PacketCount];
        for (var i = 0; i < packets.Length; i++)
        {
            if (random.Next(10) == 0 && Aimed(random, policy) is { } aimed)
            {
                packets[i] = aimed;
                continue;
            }
            var internalV4 = NetAddress.FromIPv4((10u << 24) | (uint)random.Next(0, 1 << 24));
            var other = NetAddress.FromIPv4((198u << 24) | (18u << 16) | (uint)random.Next(0, 1 << 16));
            packets[i] = random.Next(10) switch
            {
                < 5 => new Packet(NetAddress.FromIPv4((192u << 24) | (168u << 16) | (uint)random.Next(0, 1 << 16)), other, IpProtocol.Tcp, 443, 0),
                < 8 => new Packet(internalV4, other, IpProtocol.Tcp, (ushort)random.Next(1, 65536), 0),
                8 => new Packet(
                    NetAddress.FromIPv6((0x2001_0db8UL << 32) | (ulong)random.NextInt64(0, 1L << 32), (ulong)random.NextInt64()),
                    NetAddress.FromIPv6(0x2001_0db8_ffff_0000UL, 1), IpProtocol.Udp, (ushort)random.Next(1, 65536), 0),
                _ => new Packet(internalV4, other, random.Next(2) == 0 ? IpProtocol.Icmp : (IpProtocol)47, 0, (byte)random.Next(0, 16)),
            };
        }
        return packets;
    }
}
