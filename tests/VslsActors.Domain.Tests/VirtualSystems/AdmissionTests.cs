using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Policy;
using VslsActors.Domain.VirtualSystems;
using static VslsActors.Domain.Tests.Policy.PolicyBuilders;

namespace VslsActors.Domain.Tests.VirtualSystems;

public sealed class AdmissionTests
{
    // web (tcp/80) accepted with delayed sync, tcp/23 rejected, ssh dropped by an explicit rule,
    // everything else falls to the implicit cleanup rule.
    private static readonly CompiledPolicy Policy = PolicyCompiler.Compile(PolicyOf(
        Rule("web", service: Services(Tcp(80)), sync: SyncMode.Delayed),
        Rule("no-telnet", service: Services(Tcp(23)), action: RuleAction.Reject),
        Rule("no-ssh", service: Services(Tcp(22)), action: RuleAction.Drop),
        Rule("dns", service: Services(Udp(53)), sync: SyncMode.None)));

    private static TimedPacket Syn(ushort port, TcpFlags flags) =>
        new(1000, PacketHeader.Tcp(A("10.0.0.1"), 40000, A("10.0.0.2"), port, flags, 60));

    [Fact]
    public void A_syn_the_policy_accepts_opens_with_the_accepting_rule()
    {
        var d = Admission.Decide(Syn(80, TcpFlags.Syn), Policy, liveConnections: 0, maxConnections: 10);
        Assert.Equal(AdmissionOutcome.Open, d.Outcome);
        Assert.True(d.Opens);
        Assert.Equal("web", d.Rule.RuleName);
        Assert.Equal(SyncMode.Delayed, d.Rule.Sync);
    }

    [Fact]
    public void An_ack_without_a_connection_is_out_of_state_even_where_the_policy_would_drop_it()
    {
        // tcp/22 is dropped by policy, but an ACK can never open: state is checked first.
        var d = Admission.Decide(Syn(22, TcpFlags.Ack), Policy, 0, 10);
        Assert.Equal(AdmissionOutcome.OutOfState, d.Outcome);
        Assert.Equal(OutOfStateReason.TcpNoConnection, d.Reason);
    }

    [Fact]
    public void A_syn_ack_without_a_syn_is_out_of_state_with_its_reason()
    {
        var d = Admission.Decide(Syn(80, TcpFlags.Syn | TcpFlags.Ack), Policy, 0, 10);
        Assert.Equal(AdmissionOutcome.OutOfState, d.Outcome);
        Assert.Equal(OutOfStateReason.TcpSynAckWithoutSyn, d.Reason);
    }

    [Theory]
    [InlineData((ushort)22, AdmissionOutcome.PolicyDrop, "no-ssh")]
    [InlineData((ushort)23, AdmissionOutcome.Reject, "no-telnet")]
    [InlineData((ushort)443, AdmissionOutcome.PolicyDrop, PolicyDecision.ImplicitCleanupName)]
    public void The_policy_drops_or_rejects_first_packets_by_the_matching_rule(ushort port, AdmissionOutcome expected, string rule)
    {
        var d = Admission.Decide(Syn(port, TcpFlags.Syn), Policy, 0, 10);
        Assert.Equal(expected, d.Outcome);
        Assert.Equal(rule, d.Rule.RuleName);
    }

    [Fact]
    public void A_full_table_refuses_what_the_policy_accepts_as_over_limit()
    {
        Assert.Equal(AdmissionOutcome.OverLimit, Admission.Decide(Syn(80, TcpFlags.Syn), Policy, 10, 10).Outcome);
        Assert.Equal(AdmissionOutcome.Open, Admission.Decide(Syn(80, TcpFlags.Syn), Policy, 9, 10).Outcome);
    }

    [Fact]
    public void A_full_table_still_counts_policy_drops_as_policy_drops()
    {
        // The limit is checked last, so a full table never turns a policy drop into over-limit.
        Assert.Equal(AdmissionOutcome.PolicyDrop, Admission.Decide(Syn(22, TcpFlags.Syn), Policy, 10, 10).Outcome);
    }

    [Fact]
    public void An_echo_reply_without_a_request_is_out_of_state()
    {
        var reply = new TimedPacket(1, PacketHeader.Icmp(A("10.0.0.2"), A("10.0.0.1"), IcmpTypes.EchoReplyV4, 7, 84));
        var d = Admission.Decide(reply, Policy, 0, 10);
        Assert.Equal(AdmissionOutcome.OutOfState, d.Outcome);
        Assert.Equal(OutOfStateReason.IcmpEchoReplyWithoutRequest, d.Reason);
    }

    [Fact]
    public void Udp_first_packets_open_by_rule_with_its_sync_mode()
    {
        var dns = new TimedPacket(1, PacketHeader.Udp(A("10.0.0.1"), 5353, A("10.0.0.53"), 53, 70));
        var d = Admission.Decide(dns, Policy, 0, 10);
        Assert.Equal(AdmissionOutcome.Open, d.Outcome);
        Assert.Equal(SyncMode.None, d.Rule.Sync);
    }

    [Fact]
    public void A_shedding_member_refuses_what_would_open_as_overload_without_taking_a_rate_token()
    {
        const long now = 639_000_000_000_000_000;
        var bucket = new TokenBucket(1, 1, now);
        var shed = Admission.Decide(Syn(80, TcpFlags.Syn), Policy, 0, 10, ref bucket, now, shedNew: true);
        Assert.Equal(AdmissionOutcome.Overload, shed.Outcome);
        Assert.Equal("web", shed.Rule.RuleName);
        // The one token is still there for the next opener once the member stops shedding.
        Assert.Equal(AdmissionOutcome.Open, Admission.Decide(Syn(80, TcpFlags.Syn), Policy, 0, 10, ref bucket, now, shedNew: false).Outcome);
        Assert.Equal(AdmissionOutcome.OverNewConnectionRate, Admission.Decide(Syn(80, TcpFlags.Syn), Policy, 0, 10, ref bucket, now, shedNew: false).Outcome);
    }

    [Theory]
    [InlineData(80, TcpFlags.Ack, 0, AdmissionOutcome.OutOfState)]
    [InlineData(22, TcpFlags.Syn, 0, AdmissionOutcome.PolicyDrop)]
    [InlineData(23, TcpFlags.Syn, 0, AdmissionOutcome.Reject)]
    [InlineData(80, TcpFlags.Syn, 10, AdmissionOutcome.OverLimit)]
    public void Shedding_changes_nothing_for_packets_that_would_not_open_a_connection(ushort port, TcpFlags flags, int live, AdmissionOutcome expected)
    {
        TokenBucket unlimited = default;
        Assert.Equal(expected, Admission.Decide(Syn(port, flags), Policy, live, 10, ref unlimited, 0, shedNew: true).Outcome);
    }
}
