using System.Collections.Immutable;
using CsCheck;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;
using TopologyRecord = VslsActors.Domain.Topology.Topology;

namespace VslsActors.Domain.Tests.Topology;

public sealed class TrafficClassifierTests
{
    private static readonly MemberName M1 = new("member-1");

    private static VirtualSystemConfig Vs(int id, int[] vlans, params string[] subnets) => new(
        new VsId(id), $"vs-{id}", 10, [M1], PolicyDefinition.Empty, ConnectionTimeouts.Default, 1000, TimeSpan.Zero,
        [.. vlans], [.. subnets.Select(IpPrefix.Parse)]);

    private static TrafficClassifier Classifier(params VirtualSystemConfig[] systems) =>
        new(new TopologyRecord([M1], [.. systems], VslsSettings.Default));

    private static VsId? Classify(TrafficClassifier c, int? vlan, string destination) =>
        c.TryClassify(vlan, NetAddress.Parse(destination), out var vs) ? vs : null;

    [Fact]
    public void A_mapped_vlan_decides_even_when_the_destination_is_another_vs_subnet()
    {
        var c = Classifier(Vs(1, [101], "10.1.0.0/16"), Vs(2, [102], "10.2.0.0/16"));
        Assert.Equal(new VsId(1), Classify(c, 101, "10.2.3.4"));
        Assert.Equal(new VsId(2), Classify(c, 102, "192.0.2.1"));
    }

    [Fact]
    public void An_unmapped_or_absent_vlan_falls_back_to_the_destination_subnet()
    {
        var c = Classifier(Vs(1, [101], "10.1.0.0/16"), Vs(2, [102], "10.2.0.0/16"));
        Assert.Equal(new VsId(2), Classify(c, 999, "10.2.3.4"));
        Assert.Equal(new VsId(2), Classify(c, null, "10.2.3.4"));
        Assert.Equal(new VsId(1), Classify(c, -1, "10.1.0.1"));
        Assert.Equal(new VsId(1), Classify(c, 70000, "10.1.0.1"));
    }

    [Fact]
    public void The_longest_matching_prefix_wins()
    {
        var c = Classifier(Vs(1, [], "10.0.0.0/8"), Vs(2, [], "10.6.0.0/16"), Vs(3, [], "10.6.200.0/24"), Vs(4, [], "10.6.200.7/32"));
        Assert.Equal(new VsId(1), Classify(c, null, "10.7.0.1"));
        Assert.Equal(new VsId(2), Classify(c, null, "10.6.1.1"));
        Assert.Equal(new VsId(3), Classify(c, null, "10.6.200.1"));
        Assert.Equal(new VsId(4), Classify(c, null, "10.6.200.7"));
    }

    [Fact]
    public void Ipv6_destinations_are_classified_by_ipv6_prefixes_only()
    {
        var c = Classifier(Vs(1, [], "2001:db8::/32", "0.0.0.0/0"), Vs(2, [], "2001:db8:6::/48"));
        Assert.Equal(new VsId(2), Classify(c, null, "2001:db8:6::1"));
        Assert.Equal(new VsId(1), Classify(c, null, "2001:db8:7::1"));
        Assert.Null(Classify(c, null, "2001:db9::1"));
        // An IPv4 default route does not swallow IPv6 traffic, nor the other way round.
        Assert.Equal(new VsId(1), Classify(c, null, "203.0.113.9"));
    }

    [Fact]
    public void Traffic_no_vlan_or_subnet_claims_is_not_classified()
    {
        var c = Classifier(Vs(1, [101], "10.1.0.0/16"));
        Assert.False(c.TryClassify(102, NetAddress.Parse("192.0.2.1"), out var vs));
        Assert.Equal(default, vs);
        Assert.Null(Classify(Classifier(), 101, "10.1.0.1"));
    }

    [Fact]
    public void The_sample_topology_classifies_ci_runners_inside_the_dev_range_to_ci()
    {
        var t = TopologyLoader.Load(TopologyLoaderTests.SamplePath());
        var c = new TrafficClassifier(t);
        Assert.Equal(new VsId(6), Classify(c, null, "10.6.1.20"));
        Assert.Equal(new VsId(7), Classify(c, null, "10.6.200.33"));
        Assert.Equal(new VsId(3), Classify(c, null, "2001:db8:3::10"));
        Assert.Equal(new VsId(12), Classify(c, 112, "10.1.1.1"));
        Assert.Null(Classify(c, null, "8.8.8.8"));
    }

    [Fact]
    public void Two_virtual_systems_claiming_one_vlan_are_refused_when_built_in_code()
    {
        var e = Assert.Throws<ArgumentException>(() => Classifier(Vs(1, [101]), Vs(2, [101])));
        Assert.StartsWith("VLAN 101 is claimed by virtual systems 1 and 2", e.Message);
    }

    [Fact]
    public void Classification_agrees_with_a_linear_longest_prefix_scan()
    {
        // Prefixes drawn inside 10.0.0.0/8 and 2001:db8::/32 so that nesting and overlaps are common.
        var genV4 = Gen.Select(Gen.Int[8, 32], Gen.UInt).Select((len, bits) =>
            IpPrefix.Parse($"{NetAddress.FromIPv4((0x0A00_0000u | (bits & 0x00FF_FFFFu)) & (uint.MaxValue << (32 - len)))}/{len}"));
        var genV6 = Gen.Select(Gen.Int[32, 64], Gen.ULong).Select((len, bits) =>
            IpPrefix.Parse($"{NetAddress.FromIPv6((0x2001_0db8_0000_0000UL | (bits & 0xFFFF_FFFFUL)) & (ulong.MaxValue << (64 - len)), 0)}/{len}"));
        var genAddress = Gen.OneOf(
            Gen.UInt.Select(b => NetAddress.FromIPv4(0x0A00_0000u | (b & 0x00FF_FFFFu))),
            Gen.ULong.Select(b => NetAddress.FromIPv6(0x2001_0db8_0000_0000UL | (b & 0xFFFF_FFFFUL), 1)));

        Gen.Select(Gen.OneOf(genV4, genV6).Array[1, 40], genAddress.Array[50]).Sample((prefixes, addresses) =>
        {
            // One VS per distinct prefix, as the loader guarantees.
            var distinct = prefixes.Distinct().ToArray();
            var systems = distinct.Select((p, i) => Vs(i + 1, [], p.ToString())).ToArray();
            var classifier = Classifier(systems);
            foreach (var a in addresses)
            {
                VsId? expected = null;
                var best = -1;
                for (var i = 0; i < distinct.Length; i++)
                {
                    if (distinct[i].Contains(a) && distinct[i].IsIPv4 == a.IsIPv4 && distinct[i].Length > best)
                    {
                        best = distinct[i].Length;
                        expected = new VsId(i + 1);
                    }
                }
                if (Classify(classifier, null, a.ToString()) != expected)
                    return false;
            }
            return true;
        });
    }
}
