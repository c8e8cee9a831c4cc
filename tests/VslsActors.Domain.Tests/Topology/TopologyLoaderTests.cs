using VslsActors.Domain.Connections;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

namespace VslsActors.Domain.Tests.Topology;

public sealed class TopologyLoaderTests
{
    /// <summary>The sample shipped in hocon/, found by walking up from the test binaries to the repository root.</summary>
    internal static string SamplePath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "hocon", "topology.conf");
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException("hocon/topology.conf not found above " + AppContext.BaseDirectory);
    }

    private static VirtualSystemConfig Vs(VslsActors.Domain.Topology.Topology t, string name) =>
        t.VirtualSystems.Single(v => v.Name == name);

    [Fact]
    public void The_sample_topology_loads_with_three_members_and_twelve_virtual_systems()
    {
        var t = TopologyLoader.Load(SamplePath());

        Assert.Equal(["member-1", "member-2", "member-3"], t.Members.Select(m => m.Value));
        Assert.Equal(Enumerable.Range(1, 12), t.VirtualSystems.Select(v => v.Id.Value));
        Assert.Equal(DistributionMode.Manual, t.Vsls.Distribution);
        Assert.Equal(FailbackMode.PrimaryUp, t.Vsls.Failback);
        Assert.Equal(Enumerable.Range(101, 12), t.VirtualSystems.SelectMany(v => v.Vlans).Order());
    }

    [Fact]
    public void The_sample_gives_each_member_four_virtual_systems_and_an_equal_weighted_load()
    {
        var t = TopologyLoader.Load(SamplePath());
        foreach (var member in t.Members)
        {
            var primaries = t.VirtualSystems.Where(v => v.Priority[0] == member).ToList();
            Assert.Equal(4, primaries.Count);
            Assert.Equal(60, primaries.Sum(v => v.Weight));
        }
    }

    [Fact]
    public void The_sample_corp_web_has_its_overrides_and_inherits_the_rest_from_defaults()
    {
        var web = Vs(TopologyLoader.Load(SamplePath()), "corp-web");

        Assert.Equal(new VsId(1), web.Id);
        Assert.Equal(20, web.Weight);
        Assert.Equal(200_000, web.MaxConnections);
        Assert.Equal(TimeSpan.FromSeconds(3), web.SyncDelay);
        Assert.Equal(ConnectionTimeouts.Default with { TcpSession = TimeSpan.FromSeconds(1800) }, web.Timeouts);
        Assert.Equal<IpPrefix>([IpPrefix.Parse("10.1.0.0/16"), IpPrefix.Parse("2001:db8:1::/48")], web.Subnets);

        var allowWeb = web.Policy.Rules[0];
        Assert.Equal("allow-web", allowWeb.Name);
        Assert.Same(AddressCell.Any, allowWeb.Source);
        Assert.Equal<AddressItem>([new AddressItem.Group("web-servers")], allowWeb.Destination.Items);
        Assert.Equal<ServiceItem>([new ServiceItem.Ports(IpProtocol.Tcp, 80, 80), new ServiceItem.Ports(IpProtocol.Tcp, 443, 443)], allowWeb.Service.Items);
        Assert.Equal(RuleAction.Accept, allowWeb.Action);
        Assert.Equal(SyncMode.Delayed, allowWeb.Sync);
        Assert.Equal(TrackMode.None, allowWeb.Track);
        Assert.Equal(3, web.Policy.Groups["web-servers"].Length);
    }

    [Fact]
    public void The_sample_has_negations_rejects_icmp_and_whole_protocols()
    {
        var t = TopologyLoader.Load(SamplePath());

        var notCorp = Vs(t, "hr").Policy.Rules[0];
        Assert.True(notCorp.Source.Negated);
        Assert.Equal(RuleAction.Drop, notCorp.Action);

        Assert.Equal(RuleAction.Reject, Vs(t, "guest-wifi").Policy.Rules[0].Action);
        Assert.Equal(SyncMode.None, Vs(t, "guest-wifi").Policy.Rules[1].Sync);
        Assert.Contains(new ServiceItem.Ports(IpProtocol.Udp, 10000, 20000), Vs(t, "voip").Policy.Rules[1].Service.Items);
        Assert.Contains(new ServiceItem.IcmpType(IpProtocol.Icmp, 8), Vs(t, "backup-dmz").Policy.Rules[1].Service.Items);
        Assert.Contains(new ServiceItem.WholeProtocol((IpProtocol)47), Vs(t, "partner-extranet").Policy.Rules[2].Service.Items);
        Assert.True(Vs(t, "dev").Policy.Rules[0].Service.Negated);
        Assert.Equal(TimeSpan.Zero, Vs(t, "payments").SyncDelay);
    }

    [Fact]
    public void Omitted_optional_keys_take_the_documented_defaults()
    {
        var t = TopologyLoader.Parse("""
            vsls {
              members = [a]
              virtual-systems = [ { id = 7, name = only, priority = [a] } ]
            }
            """, "inline");

        var vs = Assert.Single(t.VirtualSystems);
        Assert.Equal(VslsSettings.Default, t.Vsls);
        Assert.Equal(VirtualSystemConfig.DefaultWeight, vs.Weight);
        Assert.Equal(VirtualSystemConfig.DefaultMaxConnections, vs.MaxConnections);
        Assert.Equal(VirtualSystemConfig.DefaultSyncDelay, vs.SyncDelay);
        Assert.Equal(ConnectionTimeouts.Default, vs.Timeouts);
        Assert.Equal(PolicyDefinition.Empty.Rules, vs.Policy.Rules);
        Assert.Empty(vs.Vlans);
        Assert.Empty(vs.Subnets);
    }

    [Fact]
    public void Defaults_apply_to_every_vs_and_a_vs_overrides_timeouts_field_by_field()
    {
        var t = TopologyLoader.Parse("""
            vsls {
              members = [a, b]
              defaults { weight = 7, max-connections = 10, sync-delay = 5s, timeouts { udp = 10s, icmp = 11s } }
              virtual-systems = [
                { id = 1, name = x, priority = [a], timeouts { icmp = 12s } }
                { id = 2, name = y, priority = [b, a], weight = 3 }
              ]
            }
            """, "inline");

        var x = t.Find(new VsId(1))!;
        Assert.Equal((7, 10, TimeSpan.FromSeconds(5)), (x.Weight, x.MaxConnections, x.SyncDelay));
        Assert.Equal(ConnectionTimeouts.Default with { Udp = TimeSpan.FromSeconds(10), Icmp = TimeSpan.FromSeconds(12) }, x.Timeouts);
        Assert.Equal(3, t.Find(new VsId(2))!.Weight);
        Assert.Equal(TimeSpan.FromSeconds(11), t.Find(new VsId(2))!.Timeouts.Icmp);
    }

    [Fact]
    public void Equal_distribution_does_not_need_priority_lists_and_all_on_names_its_member()
    {
        var equal = TopologyLoader.Parse("""
            vsls { members = [a, b], distribution = equal, failback = active-up, virtual-systems = [ { id = 1, name = x } ] }
            """, "inline");
        Assert.Equal(DistributionMode.Equal, equal.Vsls.Distribution);
        Assert.Equal(FailbackMode.ActiveUp, equal.Vsls.Failback);
        Assert.Equal<MemberName>([new MemberName("a"), new MemberName("b")], equal.VirtualSystems[0].Priority);

        var allOn = TopologyLoader.Parse("""
            vsls { members = [a, b], distribution = all-on, all-on-member = b, virtual-systems = [] }
            """, "inline");
        Assert.Equal(new VslsSettings(DistributionMode.AllOn, new MemberName("b")), allOn.Vsls);
    }

    [Fact]
    public void Virtual_systems_come_back_sorted_by_id_whatever_the_file_order()
    {
        var t = TopologyLoader.Parse("""
            vsls { members = [a], virtual-systems = [ { id = 9, name = n, priority = [a] }, { id = 2, name = m, priority = [a] } ] }
            """, "inline");
        Assert.Equal([2, 9], t.VirtualSystems.Select(v => v.Id.Value));
    }

    [Fact]
    public void Groups_may_name_other_groups_and_quoted_ipv6_items()
    {
        var t = TopologyLoader.Parse("""
            vsls {
              members = [a]
              virtual-systems = [{
                id = 1, name = x, priority = [a]
                policy {
                  groups { web = [10.1.1.0/24, "2001:db8::1"], dmz = [web, 10.1.9.0/24] }
                  rules = [ { destination = dmz, service = [tcp, icmpv6], action = accept } ]
                }
              }]
            }
            """, "inline");
        var policy = t.VirtualSystems[0].Policy;
        Assert.Equal<AddressItem>([new AddressItem.Group("web"), new AddressItem.Prefix(IpPrefix.Parse("10.1.9.0/24"))], policy.Groups["dmz"]);
        Assert.Equal(new AddressItem.Prefix(IpPrefix.Host(NetAddress.Parse("2001:db8::1"))), policy.Groups["web"][1]);
        var rule = policy.Rules[0];
        Assert.Equal("rule-1", rule.Name);
        Assert.Equal<ServiceItem>([new ServiceItem.Ports(IpProtocol.Tcp, 0, 65535), new ServiceItem.IcmpType(IpProtocol.IcmpV6, null)], rule.Service.Items);
    }
}
