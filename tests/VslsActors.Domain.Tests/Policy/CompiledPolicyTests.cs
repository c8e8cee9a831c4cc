using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using static VslsActors.Domain.Tests.Policy.PolicyBuilders;

namespace VslsActors.Domain.Tests.Policy;

public sealed class CompiledPolicyTests
{
    private static PolicyDecision DecideTcp(CompiledPolicy policy, string source, string destination, ushort port) =>
        policy.Decide(A(source), A(destination), IpProtocol.Tcp, port, 0);

    [Fact]
    public void First_matching_rule_decides_even_when_later_rules_also_match()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(
            Rule("block-bad-host", Cell("10.0.0.66"), action: RuleAction.Drop, track: TrackMode.Log),
            Rule("allow-lan", Cell("10.0.0.0/24"), sync: SyncMode.Delayed),
            Rule("allow-all")));

        var blocked = DecideTcp(policy, "10.0.0.66", "192.0.2.1", 80);
        var allowed = DecideTcp(policy, "10.0.0.65", "192.0.2.1", 80);

        Assert.Equal(new PolicyDecision(0, RuleAction.Drop, TrackMode.Log, SyncMode.Immediate, "block-bad-host"), blocked);
        Assert.Equal(new PolicyDecision(1, RuleAction.Accept, TrackMode.None, SyncMode.Delayed, "allow-lan"), allowed);
        Assert.Equal(2, DecideTcp(policy, "10.0.1.1", "192.0.2.1", 80).RuleIndex);
    }

    [Fact]
    public void Packet_matching_no_rule_is_dropped_by_the_implicit_cleanup_rule_without_logging()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(Rule("web", destination: Cell("192.0.2.10"), service: Services(Tcp(443)))));

        var decision = DecideTcp(policy, "10.0.0.1", "192.0.2.10", 22);

        Assert.True(decision.IsImplicitCleanup);
        Assert.Equal(-1, decision.RuleIndex);
        Assert.Equal("implicit-cleanup", decision.RuleName);
        Assert.Equal(RuleAction.Drop, decision.Action);
        Assert.Equal(TrackMode.None, decision.Track);
        Assert.False(DecideTcp(policy, "10.0.0.1", "192.0.2.10", 443).IsImplicitCleanup);
    }

    [Fact]
    public void Empty_policy_drops_everything_by_the_implicit_cleanup_rule()
    {
        var policy = PolicyCompiler.Compile(PolicyDefinition.Empty);

        Assert.Equal(0, policy.RuleCount);
        Assert.True(DecideTcp(policy, "10.0.0.1", "10.0.0.2", 80).IsImplicitCleanup);
        Assert.True(policy.Decide(A("2001:db8::1"), A("::"), (IpProtocol)47, 0, 0).IsImplicitCleanup);
    }

    [Fact]
    public void Accept_all_policy_accepts_every_family_and_protocol()
    {
        var policy = PolicyCompiler.Compile(PolicyDefinition.AcceptAll);

        Assert.Equal("accept-all", DecideTcp(policy, "0.0.0.0", "255.255.255.255", 0).RuleName);
        Assert.Equal("accept-all", policy.Decide(A("::"), A("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), (IpProtocol)255, 0, 0).RuleName);
    }

    [Fact]
    public void Negated_source_matches_every_address_outside_the_cell_including_ipv6()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(
            Rule("not-from-lan", Not("10.0.0.0/8", "192.168.1.0/24"), action: RuleAction.Reject)));

        Assert.True(DecideTcp(policy, "10.255.255.255", "192.0.2.1", 80).IsImplicitCleanup);
        Assert.True(DecideTcp(policy, "192.168.1.7", "192.0.2.1", 80).IsImplicitCleanup);
        Assert.Equal(RuleAction.Reject, DecideTcp(policy, "11.0.0.0", "192.0.2.1", 80).Action);
        Assert.Equal(RuleAction.Reject, DecideTcp(policy, "192.168.2.0", "192.0.2.1", 80).Action);
        Assert.Equal(RuleAction.Reject, DecideTcp(policy, "2001:db8::1", "192.0.2.1", 80).Action);
    }

    [Fact]
    public void Nested_groups_match_the_members_of_inner_groups()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(
            [("web-servers", ["192.0.2.10", "192.0.2.11"]), ("dmz", ["web-servers", "198.51.100.0/24"]), ("all-public", ["dmz"])],
            Rule("to-public", destination: Cell("all-public"), service: Services(Tcp(80)))));

        Assert.Equal("to-public", DecideTcp(policy, "10.0.0.1", "192.0.2.11", 80).RuleName);
        Assert.Equal("to-public", DecideTcp(policy, "10.0.0.1", "198.51.100.255", 80).RuleName);
        Assert.True(DecideTcp(policy, "10.0.0.1", "192.0.2.12", 80).IsImplicitCleanup);
    }

    [Fact]
    public void Empty_group_matches_nothing()
    {
        var policy = PolicyCompiler.Compile(PolicyOf([("retired", [])], Rule("to-retired", destination: Cell("retired"))));

        Assert.True(DecideTcp(policy, "10.0.0.1", "10.0.0.2", 80).IsImplicitCleanup);
    }

    [Fact]
    public void Ipv6_cidr_matches_inside_its_range_only()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(Rule("v6-lan", Cell("2001:db8:1::/48"))));

        Assert.False(DecideTcp(policy, "2001:db8:1::", "2001:db8:ff::1", 22).IsImplicitCleanup);
        Assert.False(DecideTcp(policy, "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "2001:db8:ff::1", 22).IsImplicitCleanup);
        Assert.True(DecideTcp(policy, "2001:db8:2::", "2001:db8:ff::1", 22).IsImplicitCleanup);
        Assert.True(DecideTcp(policy, "2001:db8:0:ffff:ffff:ffff:ffff:ffff", "2001:db8:ff::1", 22).IsImplicitCleanup);
    }

    [Fact]
    public void Ipv4_zero_prefix_matches_every_ipv4_address_but_no_ipv6_address_while_any_matches_both()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(
            Rule("all-v4", Cell("0.0.0.0/0")),
            Rule("everything-else", Cell("any"))));

        Assert.Equal("all-v4", DecideTcp(policy, "0.0.0.0", "10.0.0.1", 80).RuleName);
        Assert.Equal("all-v4", DecideTcp(policy, "255.255.255.255", "10.0.0.1", 80).RuleName);
        Assert.Equal("everything-else", DecideTcp(policy, "2001:db8::1", "10.0.0.1", 80).RuleName);
    }

    [Fact]
    public void Edges_of_the_ipv4_space_are_matched_exactly()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(
            Rule("top", Cell("255.255.255.255")),
            Rule("bottom", Cell("0.0.0.0")),
            Rule("everything", Cell("::/0"), action: RuleAction.Drop)));

        Assert.Equal("top", DecideTcp(policy, "255.255.255.255", "10.0.0.1", 80).RuleName);
        Assert.Equal("everything", DecideTcp(policy, "255.255.255.254", "10.0.0.1", 80).RuleName);
        Assert.Equal("bottom", DecideTcp(policy, "0.0.0.0", "10.0.0.1", 80).RuleName);
        Assert.Equal("everything", DecideTcp(policy, "0.0.0.1", "10.0.0.1", 80).RuleName);
        Assert.Equal("everything", DecideTcp(policy, "::fffe:ffff:ffff", "10.0.0.1", 80).RuleName);
        Assert.Equal("everything", DecideTcp(policy, "::1:0:0:0", "10.0.0.1", 80).RuleName);
    }

    [Theory]
    [InlineData((ushort)1023, false)]
    [InlineData((ushort)1024, true)]
    [InlineData((ushort)2000, true)]
    [InlineData((ushort)2048, true)]
    [InlineData((ushort)2049, false)]
    public void Tcp_port_range_matches_its_edges_and_nothing_just_outside(ushort port, bool matches)
    {
        var policy = PolicyCompiler.Compile(PolicyOf(Rule("range", service: Services(Tcp(1024, 2048)))));

        Assert.Equal(matches, !DecideTcp(policy, "10.0.0.1", "10.0.0.2", port).IsImplicitCleanup);
    }

    [Fact]
    public void Port_range_reaching_65535_matches_the_top_port()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(Rule("high", service: Services(Udp(49152, 65535)))));

        Assert.False(policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Udp, 65535, 0).IsImplicitCleanup);
        Assert.True(policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Udp, 49151, 0).IsImplicitCleanup);
    }

    [Fact]
    public void Tcp_port_item_does_not_match_the_same_udp_port()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(Rule("dns-tcp", service: Services(Tcp(53)))));

        Assert.False(policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Tcp, 53, 0).IsImplicitCleanup);
        Assert.True(policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Udp, 53, 0).IsImplicitCleanup);
    }

    [Fact]
    public void Icmp_type_item_matches_only_that_type_while_icmp_without_type_matches_every_type()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(
            Rule("echo-request", service: Services(Icmp(8))),
            Rule("other-icmp", service: Services(Icmp()), action: RuleAction.Drop)));

        Assert.Equal("echo-request", policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Icmp, 0, 8).RuleName);
        Assert.Equal("other-icmp", policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Icmp, 0, 0).RuleName);
        Assert.Equal("other-icmp", policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Icmp, 0, 255).RuleName);
        Assert.True(policy.Decide(A("2001:db8::1"), A("2001:db8::2"), IpProtocol.IcmpV6, 0, 8).IsImplicitCleanup);
    }

    [Fact]
    public void Icmp_decision_ignores_the_port_and_tcp_decision_ignores_the_icmp_type()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(
            Rule("v6-echo", service: Services(IcmpV6(128))),
            Rule("ssh", service: Services(Tcp(22)))));

        Assert.Equal("v6-echo", policy.Decide(A("2001:db8::1"), A("2001:db8::2"), IpProtocol.IcmpV6, 22, 128).RuleName);
        Assert.Equal("ssh", policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Tcp, 22, 128).RuleName);
        Assert.True(policy.Decide(A("2001:db8::1"), A("2001:db8::2"), IpProtocol.IcmpV6, 128, 22).IsImplicitCleanup);
    }

    [Fact]
    public void Whole_protocol_rule_matches_gre_but_not_esp_or_tcp()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(Rule("gre-tunnels", service: Services(Proto(47)))));

        Assert.Equal("gre-tunnels", policy.Decide(A("10.0.0.1"), A("10.0.0.2"), (IpProtocol)47, 0, 0).RuleName);
        Assert.True(policy.Decide(A("10.0.0.1"), A("10.0.0.2"), (IpProtocol)50, 0, 0).IsImplicitCleanup);
        Assert.True(policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Tcp, 47, 0).IsImplicitCleanup);
    }

    [Fact]
    public void Whole_protocol_tcp_item_matches_every_tcp_port()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(Rule("all-tcp", service: Services(Proto(6)))));

        Assert.False(policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Tcp, 0, 0).IsImplicitCleanup);
        Assert.False(policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Tcp, 65535, 0).IsImplicitCleanup);
        Assert.True(policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Udp, 80, 0).IsImplicitCleanup);
    }

    [Fact]
    public void Negated_service_matches_other_ports_and_other_protocols()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(Rule("not-web", service: NotServices(Tcp(80), Tcp(443)), action: RuleAction.Drop)));

        Assert.True(DecideTcp(policy, "10.0.0.1", "10.0.0.2", 443).IsImplicitCleanup);
        Assert.Equal("not-web", DecideTcp(policy, "10.0.0.1", "10.0.0.2", 8080).RuleName);
        Assert.Equal("not-web", policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Udp, 80, 0).RuleName);
        Assert.Equal("not-web", policy.Decide(A("10.0.0.1"), A("10.0.0.2"), IpProtocol.Icmp, 0, 8).RuleName);
        Assert.Equal("not-web", policy.Decide(A("10.0.0.1"), A("10.0.0.2"), (IpProtocol)47, 0, 0).RuleName);
    }

    [Fact]
    public void Rules_past_the_first_64_are_found_in_later_bitset_words()
    {
        var rules = new List<PolicyRule>();
        for (var i = 0; i < 130; i++)
            rules.Add(Rule($"host-{i}", Cell($"10.0.{i}.1")));
        var policy = PolicyCompiler.Compile(PolicyOf([.. rules]));

        Assert.Equal(63, DecideTcp(policy, "10.0.63.1", "10.1.0.1", 80).RuleIndex);
        Assert.Equal(64, DecideTcp(policy, "10.0.64.1", "10.1.0.1", 80).RuleIndex);
        Assert.Equal(129, DecideTcp(policy, "10.0.129.1", "10.1.0.1", 80).RuleIndex);
        Assert.True(DecideTcp(policy, "10.0.130.1", "10.1.0.1", 80).IsImplicitCleanup);
    }

    [Fact]
    public void Rule_decision_exposes_what_each_rule_decides()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(Rule("a", track: TrackMode.Log, sync: SyncMode.None)));

        Assert.Equal(new PolicyDecision(0, RuleAction.Accept, TrackMode.Log, SyncMode.None, "a"), policy.RuleDecision(0));
        Assert.Equal("rule 0 (a): accept, track log, sync none", policy.RuleDecision(0).ToString());
        Assert.Equal("implicit-cleanup: drop", PolicyDecision.ImplicitCleanup.ToString());
    }

    [Fact]
    public void Deciding_allocates_nothing()
    {
        var policy = PolicyCompiler.Compile(PolicyOf(
            [("lan", ["10.0.0.0/8", "2001:db8::/32"])],
            Rule("web", Cell("lan"), service: Services(Tcp(80), Tcp(443))),
            Rule("ping", service: Services(Icmp(8)))));

        // The runtime itself (tiered JIT, on-stack replacement) may allocate a few bytes on the
        // thread now and then; a per-decision allocation would show on every one of the runs.
        var v4 = A("10.1.2.3");
        var v6 = A("2001:db8::7");
        var fewest = long.MaxValue;
        for (var run = 0; run < 5; run++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var hits = DecideMany(policy, v4, v6);
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.NotEqual(0, hits);
        }

        Assert.Equal(0, fewest);
    }

    private static int DecideMany(CompiledPolicy policy, NetAddress v4, NetAddress v6)
    {
        var hits = 0;
        for (var i = 0; i < 10_000; i++)
        {
            hits += policy.Decide(v4, v6, IpProtocol.Tcp, (ushort)i, 0).RuleIndex;
            hits += policy.Decide(v6, v4, IpProtocol.Icmp, 0, (byte)i).RuleIndex;
            hits += policy.Decide(v6, v4, (IpProtocol)47, 0, 0).RuleIndex;
        }
        return hits;
    }
}
