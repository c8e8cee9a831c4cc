using System.Collections.Immutable;
using VslsActors.Domain.Configuration;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using static VslsActors.Domain.Tests.Policy.PolicyBuilders;

namespace VslsActors.Domain.Tests.Policy;

public sealed class PolicyCompilerErrorTests
{
    private const string Origin = "hocon/topology.conf";
    private const string Vs = "3 (corp-web)";

    private static string Error(PolicyDefinition policy) =>
        Assert.Throws<ConfigException>(() => PolicyCompiler.Compile(policy, Origin, Vs)).Message;

    [Fact]
    public void Rule_naming_an_undefined_group_is_refused_with_the_rule_and_the_known_groups()
    {
        var policy = PolicyOf(
            [("dmz", ["192.0.2.0/24"]), ("lan", ["10.0.0.0/8"])],
            Rule("ssh", service: Services(Tcp(22))),
            Rule("allow-web", destination: Cell("dmz", "web-servers")));

        var ex = Assert.Throws<ConfigException>(() => PolicyCompiler.Compile(policy, Origin, Vs));

        Assert.Equal("hocon/topology.conf: virtual system 3 (corp-web): policy.rules[2] (allow-web).destination: undefined group 'web-servers' (groups: dmz, lan)", ex.Message);
        Assert.Equal(Origin, ex.Origin);
        Assert.Equal(Vs, ex.VirtualSystem);
        Assert.Equal("policy.rules[2] (allow-web).destination", ex.Field);
        Assert.Null(ex.Line);
    }

    [Fact]
    public void Undefined_group_says_so_when_no_groups_are_defined()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (from-lan).source: undefined group 'lan' (no groups are defined)",
            Error(PolicyOf(Rule("from-lan", Cell("lan")))));
    }

    [Fact]
    public void Undefined_group_error_lists_at_most_ten_groups()
    {
        var groups = Enumerable.Range(0, 12).Select(i => ($"g{i:00}", new[] { $"10.0.{i}.0/24" }));

        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (r).source: undefined group 'x' (groups: g00, g01, g02, g03, g04, g05, g06, g07, g08, g09, and 2 more)",
            Error(PolicyOf(groups, Rule("r", Cell("x")))));
    }

    [Fact]
    public void Group_naming_an_undefined_group_is_refused_even_when_no_rule_uses_it()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.groups.dmz: undefined group 'web' (groups: dmz)",
            Error(PolicyOf([("dmz", ["web", "192.0.2.0/24"])], Rule("any"))));
    }

    [Fact]
    public void Group_cycle_is_refused_with_the_cycle_spelled_out()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.groups.c: group cycle b -> c -> b",
            Error(PolicyOf([("a", ["b"]), ("b", ["c", "10.0.0.0/8"]), ("c", ["b"])], Rule("r", Cell("a")))));
    }

    [Fact]
    public void Group_containing_itself_is_a_cycle()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.groups.self: group cycle self -> self",
            Error(PolicyOf([("self", ["10.0.0.1", "self"])], Rule("r"))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Empty_rule_name_is_refused(string name)
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[2]: empty rule name",
            Error(PolicyOf(Rule("first"), Rule(name))));
    }

    [Fact]
    public void Duplicate_rule_names_are_refused_ignoring_case()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[3] (Allow-Web).name: duplicate rule name (policy.rules[1] has it too)",
            Error(PolicyOf(Rule("allow-web"), Rule("ssh"), Rule("Allow-Web"))));
    }

    [Fact]
    public void Implicit_cleanup_name_is_reserved()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (implicit-cleanup).name: 'implicit-cleanup' is reserved for the implicit cleanup rule",
            Error(PolicyOf(Rule("implicit-cleanup", action: RuleAction.Drop))));
    }

    [Fact]
    public void Port_range_with_low_above_high_is_refused()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (web).service: 'tcp/90-80' is not a port range (low 90 > high 80)",
            Error(PolicyOf(Rule("web", service: Services(Tcp(443), Tcp(90, 80))))));
    }

    [Theory]
    [InlineData(IpProtocol.Icmp, "'icmp/80' gives ports for protocol icmp; ports exist only for tcp and udp")]
    [InlineData((IpProtocol)47, "'47/80' gives ports for protocol 47; ports exist only for tcp and udp")]
    public void Ports_on_a_protocol_other_than_tcp_or_udp_are_refused(IpProtocol protocol, string problem)
    {
        Assert.Equal(
            $"hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (web).service: {problem}",
            Error(PolicyOf(Rule("web", service: Services(new ServiceItem.Ports(protocol, 80, 80))))));
    }

    [Fact]
    public void Icmp_type_on_a_protocol_other_than_icmp_is_refused()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (ping).service: 'tcp/8' gives an ICMP type for protocol tcp; ICMP types exist only for icmp and icmpv6",
            Error(PolicyOf(Rule("ping", service: Services(new ServiceItem.IcmpType(IpProtocol.Tcp, 8))))));
    }

    [Fact]
    public void Empty_address_cell_is_refused()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (web).source: empty cell (write 'any' to match every address)",
            Error(PolicyOf(Rule("web", source: new AddressCell([])))));
    }

    [Fact]
    public void Empty_service_cell_is_refused()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (web).service: empty cell (write 'any' to match every service)",
            Error(PolicyOf(Rule("web", service: new ServiceCell([])))));
    }

    [Fact]
    public void Unknown_action_is_refused()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (web).action: unknown action 9 (accept, drop or reject)",
            Error(PolicyOf(Rule("web", action: (RuleAction)9))));
    }

    [Fact]
    public void Unknown_sync_is_refused()
    {
        Assert.Equal(
            "hocon/topology.conf: virtual system 3 (corp-web): policy.rules[1] (web).sync: unknown sync 5 (immediate, delayed or none)",
            Error(PolicyOf(Rule("web", sync: (SyncMode)5))));
    }

    [Fact]
    public void Missing_rule_is_refused()
    {
        var policy = new PolicyDefinition(ImmutableDictionary<string, ImmutableArray<AddressItem>>.Empty, [Rule("a"), null!]);

        Assert.Equal("hocon/topology.conf: virtual system 3 (corp-web): policy.rules[2]: missing rule", Error(policy));
    }

    [Fact]
    public void Error_without_a_virtual_system_names_only_the_origin_and_field()
    {
        var ex = Assert.Throws<ConfigException>(() => PolicyCompiler.Compile(PolicyOf(Rule(""))));

        Assert.Equal("policy: policy.rules[1]: empty rule name", ex.Message);
        Assert.Null(ex.VirtualSystem);
    }
}
