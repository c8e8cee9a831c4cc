using CsCheck;

namespace VslsActors.Domain.Tests.Connections;

using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

public sealed class ConnectionFilterTests
{
    private static ConnectionRow Row(
        string origH = "10.1.2.3", ushort origP = 40000, string respH = "192.0.2.10", ushort respP = 443,
        IpProtocol proto = IpProtocol.Tcp, ConnectionPhase phase = ConnectionPhase.TcpEstablished,
        string rule = "web out", int vs = 3, long origPkts = 12, long origBytes = 1500, long respPkts = 10, long respBytes = 90000) =>
        new(new VsId(vs), proto, NetAddress.Parse(origH), origP, NetAddress.Parse(respH), respP,
            origPkts, origBytes, respPkts, respBytes, phase, rule);

    private static bool Match(string filter, ConnectionRow row) => ConnectionFilter.Compile(filter).Matches(row);

    [Theory]
    [InlineData("proto = tcp", true)]
    [InlineData("proto = udp", false)]
    [InlineData("proto = 6", true)]
    [InlineData("proto != tcp", false)]
    [InlineData("vs = 3", true)]
    [InlineData("orig_h = 10.1.2.3", true)]
    [InlineData("resp_h = 10.1.2.3", false)]
    [InlineData("orig_h in 10.0.0.0/8", true)]
    [InlineData("resp_h in 10.0.0.0/8", false)]
    [InlineData("resp_h in (10.0.0.0/8, 192.0.2.0/24)", true)]
    [InlineData("orig_p >= 40000", true)]
    [InlineData("orig_p > 40000", false)]
    [InlineData("resp_p in (80, 443)", true)]
    [InlineData("resp_p not in (80, 443)", false)]
    [InlineData("resp_p < 1024", true)]
    [InlineData("resp_p <= 442", false)]
    [InlineData("orig_pkts = 12", true)]
    [InlineData("orig_bytes > 1000", true)]
    [InlineData("resp_pkts < 10", false)]
    [InlineData("resp_bytes >= 90000", true)]
    [InlineData("state = tcp-established", true)]
    [InlineData("state in (tcp-syn-sent, tcp-syn-received)", false)]
    [InlineData("rule = \"web out\"", true)]
    [InlineData("rule = 'web out'", true)]
    [InlineData("rule = web", false)]
    [InlineData("rule != \"web out\"", false)]
    public void Each_field_compares_with_its_own_kind_of_value(string filter, bool expected) =>
        Assert.Equal(expected, Match(filter, Row()));

    [Theory]
    [InlineData("host = 192.0.2.10", true)]
    [InlineData("host = 10.1.2.3", true)]
    [InlineData("host in 172.16.0.0/12", false)]
    [InlineData("host != 10.1.2.3", false)]
    [InlineData("port = 443", true)]
    [InlineData("port = 40000", true)]
    [InlineData("port > 50000", false)]
    [InlineData("port != 443", false)]
    [InlineData("port != 22", true)]
    public void Host_and_port_match_either_side_and_their_not_equal_means_neither_side(string filter, bool expected) =>
        Assert.Equal(expected, Match(filter, Row()));

    [Theory]
    [InlineData("proto = udp or proto = tcp and resp_p = 443", true)]
    [InlineData("(proto = udp or proto = tcp) and resp_p = 80", false)]
    [InlineData("proto = udp or proto = tcp and resp_p = 80", false)]
    [InlineData("not proto = udp and not (resp_p = 80 or resp_p = 22)", true)]
    [InlineData("not not proto = tcp", true)]
    [InlineData("PROTO = TCP AND Resp_P = 443", true)]
    public void And_binds_tighter_than_or_and_not_binds_tightest(string filter, bool expected) =>
        Assert.Equal(expected, Match(filter, Row()));

    [Fact]
    public void Ipv6_addresses_and_prefixes_work_bare()
    {
        var row = Row(origH: "2001:db8::1", respH: "2001:db8:1::53", proto: IpProtocol.Udp, phase: ConnectionPhase.UdpReplied, respP: 53);
        Assert.True(Match("orig_h = 2001:db8::1 and resp_h in 2001:db8:1::/48 and state = udp-replied", row));
        Assert.False(Match("host in 10.0.0.0/8", row));
    }

    [Fact]
    public void A_row_built_from_a_flow_key_takes_the_initiator_as_orig_even_when_it_sorts_higher()
    {
        var key = FlowKey.ForFirstPacket(NetAddress.Parse("10.9.9.9"), 50000, NetAddress.Parse("10.0.0.1"), 22, IpProtocol.Tcp);
        var state = ConnectionState.Restore(ConnectionPhase.TcpSynSent, IpProtocol.Tcp, false, false, 1, 60, 0, 0, 1, 1);
        var row = ConnectionRow.From(new VsId(2), key, state, "ssh");

        Assert.True(Match("orig_h = 10.9.9.9 and orig_p = 50000 and resp_p = 22 and state = tcp-syn-sent and rule = ssh and vs = 2", row));
    }

    [Theory]
    [InlineData("vs = 1 or vs=", "filter: column 14: expected a value after '=', got end of input")]
    [InlineData("", "filter: column 1: empty filter (expected a comparison such as 'resp_p = 443')")]
    [InlineData("proto = tcp and", "filter: column 16: expected a field name, got end of input")]
    [InlineData("dport = 80", "filter: column 1: unknown field 'dport' (fields: vs, proto, orig_h, orig_p, resp_h, resp_p, orig_pkts, orig_bytes, resp_pkts, resp_bytes, state, rule, host, port)")]
    [InlineData("resp_p 80", "filter: column 8: expected an operator (=, !=, <, <=, >, >=, in) after 'resp_p', got '80'")]
    [InlineData("resp_p == 80", "filter: column 8: '==' is not an operator (use '=')")]
    [InlineData("resp_p = http", "filter: column 10: expected a port (0-65535) for resp_p, got 'http'")]
    [InlineData("resp_p = 70000", "filter: column 10: expected a port (0-65535) for resp_p, got '70000'")]
    [InlineData("orig_h = 10.0.0.0/8", "filter: column 10: '10.0.0.0/8' is a prefix; write 'orig_h in 10.0.0.0/8'")]
    [InlineData("orig_h in 10.0.0.1/8", "filter: column 11: expected an address or prefix for orig_h: '10.0.0.1/8' is not a CIDR (host bits are set; did you mean 10.0.0.0/8?)")]
    [InlineData("orig_h = 10.1", "filter: column 10: expected an IPv4 or IPv6 address for orig_h, got '10.1'")]
    [InlineData("proto < tcp", "filter: column 7: '<' does not apply to proto (use =, != or in)")]
    [InlineData("proto = sctpx", "filter: column 9: expected a protocol (tcp, udp, icmp, icmpv6 or a number 0-255), got 'sctpx'")]
    [InlineData("state = open", "filter: column 9: expected a connection state (tcp-syn-sent, tcp-syn-received, tcp-established, tcp-half-closed, tcp-closed, tcp-reset, udp-new, udp-replied, icmp-requested, icmp-answered, other-new, other-replied), got 'open'")]
    [InlineData("resp_p in 80", "filter: column 11: expected '(' after 'in' (a list such as (resp_p values, ...)), got '80'")]
    [InlineData("resp_p in (80 443)", "filter: column 15: expected ',' or ')' in the list opened at column 11, got '443'")]
    [InlineData("resp_p in ()", "filter: column 12: expected a value after '(', got ')'")]
    [InlineData("(proto = tcp", "filter: column 13: expected ')' to close the '(' at column 1, got end of input")]
    [InlineData("proto = tcp)", "filter: column 12: expected 'and', 'or' or end of input, got ')' without a matching '('")]
    [InlineData("proto = tcp resp_p = 80", "filter: column 13: expected 'and', 'or' or end of input, got 'resp_p'")]
    [InlineData("rule = \"web out", "filter: column 8: string not closed (missing \")")]
    [InlineData("! proto = tcp", "filter: column 1: unexpected '!' (use '!=' or 'not')")]
    [InlineData("vs = 0", "filter: column 6: expected a virtual system id (an integer ≥ 1) for vs, got '0'")]
    public void Bad_filters_are_refused_with_the_column_and_what_was_expected(string filter, string message)
    {
        var e = Assert.Throws<FilterException>(() => ConnectionFilter.Compile(filter));
        Assert.Equal(message, e.Message);
        Assert.False(ConnectionFilter.TryCompile(filter, out var none, out var error));
        Assert.Null(none);
        Assert.Equal(message, error);
    }

    [Fact]
    public void Evaluating_a_compiled_filter_allocates_nothing()
    {
        var filter = ConnectionFilter.Compile(
            "proto = tcp and resp_p in (80, 443) and not orig_h in 192.168.0.0/16 and (state = tcp-established or rule = \"web out\") and host != 10.0.0.1 and orig_bytes > 100");
        var rows = Enumerable.Range(0, 256).Select(i => Row(origP: (ushort)(30000 + i), respP: (ushort)(i % 2 == 0 ? 443 : 22), origBytes: i)).ToArray();
        var warm = 0;
        foreach (var r in rows)
            warm += filter.Matches(r) ? 1 : 0;

        var before = GC.GetAllocatedBytesForCurrentThread();
        var hits = 0;
        for (var round = 0; round < 100; round++)
        {
            foreach (ref readonly var r in rows.AsSpan())
                hits += filter.Matches(r) ? 1 : 0;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(warm * 100, hits);
        Assert.True(warm > 0 && warm < rows.Length);
        Assert.Equal(0, allocated);
    }

    private enum Op { Eq, Ne, Lt, Le, Gt, Ge }

    private static readonly string[] OpText = ["=", "!=", "<", "<=", ">", ">="];

    [Fact]
    public void Numeric_comparisons_and_boolean_structure_agree_with_a_hand_written_predicate()
    {
        // Two comparisons on resp_p / orig_pkts combined with and/or/not, against the same in C#.
        var comparison = Gen.Select(Gen.Bool, Gen.Enum<Op>(), Gen.Int[0, 100]);
        Gen.Select(comparison, comparison, Gen.Int[0, 2], Gen.Bool, Gen.Int[0, 100], Gen.Int[0, 100]).Sample((a, b, join, negate, respP, pkts) =>
        {
            static (string Text, Func<ConnectionRow, bool> Eval) Build((bool Port, Op Op, int Value) c)
            {
                var field = c.Port ? "resp_p" : "orig_pkts";
                Func<ConnectionRow, long> get = c.Port ? r => r.RespPort : r => r.OrigPackets;
                Func<long, bool> test = c.Op switch
                {
                    Op.Eq => x => x == c.Value,
                    Op.Ne => x => x != c.Value,
                    Op.Lt => x => x < c.Value,
                    Op.Le => x => x <= c.Value,
                    Op.Gt => x => x > c.Value,
                    _ => x => x >= c.Value,
                };
                return ($"{field} {OpText[(int)c.Op]} {c.Value}", r => test(get(r)));
            }
            var (ta, ea) = Build(a);
            var (tb, eb) = Build(b);
            var (text, eval) = join switch
            {
                0 => ($"{ta} and {tb}", (Func<ConnectionRow, bool>)(r => ea(r) && eb(r))),
                1 => ($"{ta} or {tb}", r => ea(r) || eb(r)),
                _ => ($"not ({ta}) or not {tb}", r => !ea(r) || !eb(r)),
            };
            if (negate)
            {
                text = $"not ({text})";
                var inner = eval;
                eval = r => !inner(r);
            }
            var row = Row(respP: (ushort)respP, origPkts: pkts);
            Assert.Equal(eval(row), ConnectionFilter.Compile(text).Matches(row));
        }, iter: 2000);
    }

    [Fact]
    public void Every_phase_state_name_parses_back_to_its_phase()
    {
        foreach (var phase in Enum.GetValues<ConnectionPhase>())
        {
            Assert.True(ConnectionPhases.TryParseStateName(phase.StateName(), out var back));
            Assert.Equal(phase, back);
            Assert.True(Match($"state = {phase.StateName()}", Row(phase: phase)));
        }
        Assert.Equal("tcp-half-closed", ConnectionPhase.TcpHalfClosed.StateName());
    }
}
