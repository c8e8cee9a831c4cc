using System.Collections.Immutable;
using System.Text;
using CsCheck;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Domain.Tests.Policy;

/// <summary>
/// The main correctness proof of the compiled policy: for random policies and packets it decides
/// exactly what the rule-by-rule reference evaluator decides. Prefixes, ports and ICMP types are
/// drawn from small neighbourhoods so that cells overlap, nest and share edges, and packets are
/// drawn from the edges of every prefix (first, last, one before, one after) as well as at random.
/// </summary>
public sealed class CompiledPolicyPropertyTests
{
    private static readonly IpProtocol[] Protocols =
        [IpProtocol.Tcp, IpProtocol.Udp, IpProtocol.Icmp, IpProtocol.IcmpV6, (IpProtocol)47, (IpProtocol)50, (IpProtocol)0];

    private static readonly Gen<IpPrefix> GenV4Prefix = Gen.Select(
        Gen.OneOf(0u, 10u, 192u, 255u),
        Gen.Frequency((4, Gen.UInt[0, 3]), (1, Gen.Const(255u))),
        Gen.Frequency((4, Gen.UInt[0, 3]), (1, Gen.Const(255u))),
        Gen.Frequency((4, Gen.UInt[0, 255]), (1, Gen.OneOf(254u, 255u))),
        Gen.Frequency((1, Gen.Int[0, 8]), (4, Gen.Int[14, 32])),
        (a, b, c, d, length) =>
        {
            var mask = length == 0 ? 0u : uint.MaxValue << (32 - length);
            return IpPrefix.Parse($"{NetAddress.FromIPv4(((a << 24) | (b << 16) | (c << 8) | d) & mask)}/{length}");
        });

    private static readonly Gen<IpPrefix> GenV6Prefix = Gen.Select(
        Gen.OneOf(0x2001_0db8_0000_0000UL, 0x2001_0db8_0001_0000UL, ulong.MaxValue),
        Gen.Frequency((4, Gen.ULong[0, 3]), (1, Gen.OneOf(ulong.MaxValue - 1, ulong.MaxValue))),
        Gen.Frequency((1, Gen.Int[0, 16]), (3, Gen.Int[28, 64]), (3, Gen.Int[100, 128])),
        (high, low, length) =>
        {
            var mask = length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - length);
            return IpPrefix.Parse($"{new NetAddress(new UInt128(high, low) & mask)}/{length}");
        });

    private static readonly Gen<IpPrefix> GenPrefix = Gen.Frequency((3, GenV4Prefix), (2, GenV6Prefix));

    /// <summary>An address item before group names are known: 0 = any, 1 = prefix, 2 = group (Ref picks which).</summary>
    private static readonly Gen<(int Kind, IpPrefix Prefix, int Ref)> GenAddressSpec = Gen.Select(
        Gen.Frequency((1, Gen.Const(0)), (6, Gen.Const(1)), (3, Gen.Const(2))),
        GenPrefix,
        Gen.Int[0, 1000]);

    private static readonly Gen<(bool Negated, (int Kind, IpPrefix Prefix, int Ref)[] Items)> GenAddressCellSpec =
        Gen.Select(Gen.Frequency((5, Gen.Const(false)), (1, Gen.Const(true))), GenAddressSpec.Array[1, 3]);

    private static readonly Gen<ushort> GenPort = Gen.Frequency((6, Gen.UShort[0, 70]), (1, Gen.UShort[65500, 65535]));

    private static readonly Gen<byte> GenIcmpType = Gen.Frequency((5, Gen.Byte[0, 6]), (1, Gen.Byte[250, 255]));

    private static readonly Gen<ServiceItem> GenServiceItem = Gen.Frequency(
        (1, Gen.Const<ServiceItem>(new ServiceItem.Any())),
        (5, Gen.Select(Gen.OneOf(IpProtocol.Tcp, IpProtocol.Udp), GenPort, Gen.Int[0, 20],
            (protocol, low, span) => (ServiceItem)new ServiceItem.Ports(protocol, low, (ushort)Math.Min(low + span, ushort.MaxValue)))),
        (3, Gen.Select(Gen.OneOf(IpProtocol.Icmp, IpProtocol.IcmpV6), Gen.Frequency((1, Gen.Const(-1)), (5, GenIcmpType.Select(t => (int)t))),
            (protocol, type) => (ServiceItem)new ServiceItem.IcmpType(protocol, type < 0 ? null : (byte)type))),
        (2, Gen.OneOf(Protocols).Select(p => (ServiceItem)new ServiceItem.WholeProtocol(p))));

    private static readonly Gen<ServiceCell> GenServiceCell = Gen.Select(
        Gen.Frequency((5, Gen.Const(false)), (1, Gen.Const(true))),
        GenServiceItem.Array[1, 3],
        (negated, items) => new ServiceCell([.. items], negated));

    private static readonly Gen<RuleSpec> GenRuleSpec = Gen.Select(
        GenAddressCellSpec, GenAddressCellSpec, GenServiceCell,
        Gen.Enum<RuleAction>(), Gen.Enum<TrackMode>(), Gen.Enum<SyncMode>(),
        (source, destination, service, action, track, sync) => new RuleSpec(source, destination, service, action, track, sync));

    private static readonly Gen<PolicyDefinition> GenPolicy = Gen.Select(
        GenAddressSpec.Array[0, 4].Array[0, 5],
        Gen.Frequency((5, Gen.Int[0, 10]), (1, Gen.Int[60, 140])).SelectMany(n => GenRuleSpec.Array[n]),
        Build);

    private static readonly Gen<(PolicyDefinition Policy, Packet[] Packets)> GenCase =
        GenPolicy.SelectMany(policy => GenPacket(Edges(policy)).Array[40].Select(packets => (policy, packets)));

    [Fact]
    public void Compiled_policy_decides_like_the_rule_by_rule_reference_evaluator()
    {
        GenCase.Sample(
            (policy, packets) =>
            {
                var compiled = PolicyCompiler.Compile(policy);
                var reference = new ReferencePolicyEvaluator(policy);
                foreach (var p in packets)
                {
                    var expected = reference.Decide(p.Source, p.Destination, p.Protocol, p.Port, p.IcmpType);
                    var actual = compiled.Decide(p.Source, p.Destination, p.Protocol, p.Port, p.IcmpType);
                    if (actual != expected)
                        throw new Xunit.Sdk.XunitException($"packet {p}: expected {expected}, compiled policy said {actual}");
                }
            },
            iter: 1500,
            print: c => Describe(c.Item1));
    }

    private sealed record RuleSpec(
        (bool Negated, (int Kind, IpPrefix Prefix, int Ref)[] Items) Source,
        (bool Negated, (int Kind, IpPrefix Prefix, int Ref)[] Items) Destination,
        ServiceCell Service,
        RuleAction Action,
        TrackMode Track,
        SyncMode Sync);

    private sealed record Packet(NetAddress Source, NetAddress Destination, IpProtocol Protocol, ushort Port, byte IcmpType)
    {
        public override string ToString() => $"{Source} -> {Destination} {Protocol.Name()} port {Port} type {IcmpType}";
    }

    /// <summary>Names groups g0…; group i may name only groups after it, so groups nest without cycles.</summary>
    private static PolicyDefinition Build((int Kind, IpPrefix Prefix, int Ref)[][] groupSpecs, RuleSpec[] ruleSpecs)
    {
        var k = groupSpecs.Length;
        var groups = ImmutableDictionary.CreateBuilder<string, ImmutableArray<AddressItem>>();
        for (var i = 0; i < k; i++)
        {
            var later = k - 1 - i;
            groups.Add($"g{i}", [.. groupSpecs[i].Select(s => Item(s, later == 0 ? -1 : i + 1 + s.Ref % later))]);
        }
        var rules = new List<PolicyRule>();
        for (var i = 0; i < ruleSpecs.Length; i++)
        {
            var r = ruleSpecs[i];
            rules.Add(new PolicyRule($"r{i}", Cell(r.Source, k), Cell(r.Destination, k), r.Service, r.Action, r.Track, r.Sync));
        }
        return new PolicyDefinition(groups.ToImmutable(), [.. rules]);
    }

    private static AddressCell Cell((bool Negated, (int Kind, IpPrefix Prefix, int Ref)[] Items) spec, int groupCount) =>
        new([.. spec.Items.Select(s => Item(s, groupCount == 0 ? -1 : s.Ref % groupCount))], spec.Negated);

    private static AddressItem Item((int Kind, IpPrefix Prefix, int Ref) spec, int group) => spec.Kind switch
    {
        0 => new AddressItem.Any(),
        2 when group >= 0 => new AddressItem.Group($"g{group}"),
        _ => new AddressItem.Prefix(spec.Prefix),
    };

    /// <summary>Every address at or next to the edge of a prefix the policy names.</summary>
    private static UInt128[] Edges(PolicyDefinition policy)
    {
        var edges = new List<UInt128>();
        void Add(AddressItem item)
        {
            if (item is not AddressItem.Prefix p)
                return;
            edges.Add(p.Value.First);
            edges.Add(p.Value.Last);
            if (p.Value.First > UInt128.Zero)
                edges.Add(p.Value.First - 1);
            if (p.Value.Last < UInt128.MaxValue)
                edges.Add(p.Value.Last + 1);
        }
        foreach (var group in policy.Groups.Values)
        {
            foreach (var item in group)
                Add(item);
        }
        foreach (var rule in policy.Rules)
        {
            foreach (var item in rule.Source.Items)
                Add(item);
            foreach (var item in rule.Destination.Items)
                Add(item);
        }
        return [.. edges];
    }

    private static Gen<Packet> GenPacket(UInt128[] edges)
    {
        var random = GenPrefix.Select(p => p.Network);
        var address = edges.Length == 0
            ? random
            : Gen.Frequency((3, Gen.Int[0, edges.Length - 1].Select(i => new NetAddress(edges[i]))), (1, random));
        return Gen.Select(address, address, Gen.OneOf(Protocols), GenPort, GenIcmpType,
            (source, destination, protocol, port, type) => new Packet(source, destination, protocol, port, type));
    }

    private static string Describe(PolicyDefinition policy)
    {
        var text = new StringBuilder();
        foreach (var (name, items) in policy.Groups.OrderBy(g => g.Key, StringComparer.Ordinal))
            text.AppendLine($"group {name} = {string.Join(", ", items)}");
        foreach (var rule in policy.Rules)
        {
            text.AppendLine(
                $"{rule.Name}: {(rule.Source.Negated ? "not " : "")}[{string.Join(", ", rule.Source.Items)}] -> "
                + $"{(rule.Destination.Negated ? "not " : "")}[{string.Join(", ", rule.Destination.Items)}] "
                + $"{(rule.Service.Negated ? "not " : "")}[{string.Join(", ", rule.Service.Items)}] {rule.Action}");
        }
        return text.ToString();
    }
}
