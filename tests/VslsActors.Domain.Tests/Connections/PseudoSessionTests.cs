using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using static VslsActors.Domain.Connections.ConnectionStateMachine;

namespace VslsActors.Domain.Tests.Connections;

/// <summary>UDP, ICMP and other-IP connections: pseudo-sessions opened by the first packet.</summary>
public sealed class PseudoSessionTests
{
    private static readonly NetAddress Client = NetAddress.Parse("10.0.0.1");
    private static readonly NetAddress Server = NetAddress.Parse("8.8.8.8");
    private static readonly NetAddress Client6 = NetAddress.Parse("2001:db8::1");
    private static readonly NetAddress Server6 = NetAddress.Parse("2001:db8::2");
    private const long T0 = 638_000_000_000_000_000L;

    [Fact]
    public void Udp_request_opens_and_the_first_reply_establishes_once()
    {
        var query = PacketHeader.Udp(Client, 53000, Server, 53, 60);
        var answer = PacketHeader.Udp(Server, 53, Client, 53000, 120);
        Assert.Equal(FirstPacketVerdict.Open, CanOpen(query));
        var s = Open(query, T0);
        Assert.Equal(ConnectionPhase.UdpNew, s.Phase);
        Assert.False(s.Phase.IsEstablished());

        Assert.Equal(StepResult.Accept, Step(ref s, query, FlowDirection.Original, T0 + 1));
        Assert.Equal(ConnectionPhase.UdpNew, s.Phase);
        Assert.Equal(StepResult.AcceptWith(LifecycleTransition.Established), Step(ref s, answer, FlowDirection.Reply, T0 + 2));
        Assert.Equal(ConnectionPhase.UdpReplied, s.Phase);
        Assert.True(s.Phase.IsEstablished());
        Assert.Equal(StepResult.Accept, Step(ref s, answer, FlowDirection.Reply, T0 + 3));
        Assert.Equal(StepResult.Accept, Step(ref s, query, FlowDirection.Original, T0 + 4));
        Assert.Equal((3L, 180L, 2L, 240L), (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes));
        Assert.False(s.Phase.IsClosed());
    }

    [Fact]
    public void Icmp_echo_request_opens_and_reply_answers()
    {
        var request = PacketHeader.Icmp(Client, Server, IcmpTypes.EchoRequestV4, 0x42, 84);
        var reply = PacketHeader.Icmp(Server, Client, IcmpTypes.EchoReplyV4, 0x42, 84);
        var s = Open(request, T0);
        Assert.Equal(ConnectionPhase.IcmpRequested, s.Phase);
        var key = FlowKey.FromPacket(request);
        Assert.Equal(StepResult.AcceptWith(LifecycleTransition.Established), Step(ref s, reply, key.DirectionOf(reply), T0 + 1));
        Assert.Equal(ConnectionPhase.IcmpAnswered, s.Phase);
        // The next ping of the same run (same identifier) is the same connection.
        Assert.Equal(StepResult.Accept, Step(ref s, request, key.DirectionOf(request), T0 + 2));
        Assert.Equal(StepResult.Accept, Step(ref s, reply, key.DirectionOf(reply), T0 + 3));
        Assert.Equal((2L, 168L, 2L, 168L), (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes));
    }

    [Fact]
    public void Icmpv6_echo_request_opens_and_reply_answers()
    {
        var request = PacketHeader.Icmp(Client6, Server6, IcmpTypes.EchoRequestV6, 9, 104);
        var reply = PacketHeader.Icmp(Server6, Client6, IcmpTypes.EchoReplyV6, 9, 104);
        Assert.Equal(FirstPacketVerdict.OutOfState(OutOfStateReason.IcmpEchoReplyWithoutRequest), CanOpen(reply));
        var s = Open(request, T0);
        Assert.Equal(IpProtocol.IcmpV6, s.Protocol);
        Assert.Equal(LifecycleTransition.Established, Step(ref s, reply, FlowDirection.Reply, T0 + 1).Transition);
    }

    [Fact]
    public void Echo_reply_with_no_request_is_out_of_state()
    {
        var reply = PacketHeader.Icmp(Server, Client, IcmpTypes.EchoReplyV4, 0x42, 84);
        Assert.Equal(FirstPacketVerdict.OutOfState(OutOfStateReason.IcmpEchoReplyWithoutRequest), CanOpen(reply));
        Assert.Throws<InvalidOperationException>(() => Open(reply, T0));
    }

    [Fact]
    public void Two_pings_with_different_identifiers_are_two_connections()
    {
        var table = new TestConnectionTable(ConnectionTimeouts.Default);
        table.Receive(PacketHeader.Icmp(Client, Server, IcmpTypes.EchoRequestV4, 1, 84), T0);
        table.Receive(PacketHeader.Icmp(Client, Server, IcmpTypes.EchoRequestV4, 2, 84), T0 + 1);
        Assert.Equal(2, table.Count);

        Assert.True(table.Receive(PacketHeader.Icmp(Server, Client, IcmpTypes.EchoReplyV4, 2, 84), T0 + 2).Accepted);
        var first = table.Get(FlowKey.FromPacket(PacketHeader.Icmp(Client, Server, IcmpTypes.EchoRequestV4, 1, 84)));
        var second = table.Get(FlowKey.FromPacket(PacketHeader.Icmp(Client, Server, IcmpTypes.EchoRequestV4, 2, 84)));
        Assert.Equal(ConnectionPhase.IcmpRequested, first.Phase);
        Assert.Equal(ConnectionPhase.IcmpAnswered, second.Phase);

        // A reply to an identifier nobody asked for is dropped, not a third connection.
        Assert.False(table.Receive(PacketHeader.Icmp(Server, Client, IcmpTypes.EchoReplyV4, 3, 84), T0 + 3).Accepted);
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public void Echo_reply_from_the_requester_is_dropped()
    {
        var request = PacketHeader.Icmp(Client, Server, IcmpTypes.EchoRequestV4, 5, 84);
        var s = Open(request, T0);
        var before = s;
        var bogus = PacketHeader.Icmp(Client, Server, IcmpTypes.EchoReplyV4, 5, 84);
        Assert.Equal(StepResult.Drop(OutOfStateReason.IcmpEchoReplyFromRequester), Step(ref s, bogus, FlowDirection.Original, T0 + 1));
        Assert.Equal(before, s);
    }

    [Fact]
    public void Echo_request_back_from_the_responder_with_the_same_identifier_does_not_answer()
    {
        var s = Open(PacketHeader.Icmp(Client, Server, IcmpTypes.EchoRequestV4, 5, 84), T0);
        Assert.Equal(StepResult.Accept, Step(ref s, PacketHeader.Icmp(Server, Client, IcmpTypes.EchoRequestV4, 5, 84), FlowDirection.Reply, T0 + 1));
        Assert.Equal(ConnectionPhase.IcmpRequested, s.Phase);
        Assert.Equal(1L, s.RespPackets);
    }

    [Fact]
    public void Non_echo_icmp_opens_per_address_pair_and_any_message_back_answers()
    {
        var unreachable = PacketHeader.Icmp(Server, Client, type: 3, id: 0, ipLength: 56);
        Assert.Equal(FirstPacketVerdict.Open, CanOpen(unreachable));
        var s = Open(unreachable, T0);
        Assert.Equal(ConnectionPhase.IcmpRequested, s.Phase);
        var back = PacketHeader.Icmp(Client, Server, type: 11, id: 0, ipLength: 56);
        Assert.Equal(FlowKey.FromPacket(unreachable), FlowKey.FromPacket(back));
        Assert.Equal(LifecycleTransition.Established, Step(ref s, back, FlowDirection.Reply, T0 + 1).Transition);
        Assert.Equal(ConnectionPhase.IcmpAnswered, s.Phase);
    }

    [Fact]
    public void Other_ip_protocol_is_tracked_by_addresses_and_protocol()
    {
        var gre = PacketHeader.OtherIp((IpProtocol)47, Client, Server, 200);
        var greBack = PacketHeader.OtherIp((IpProtocol)47, Server, Client, 300);
        var esp = PacketHeader.OtherIp((IpProtocol)50, Client, Server, 200);
        Assert.Equal(FirstPacketVerdict.Open, CanOpen(gre));
        Assert.NotEqual(FlowKey.FromPacket(gre), FlowKey.FromPacket(esp));
        var s = Open(gre, T0);
        Assert.Equal(ConnectionPhase.OtherNew, s.Phase);
        Assert.Equal(StepResult.AcceptWith(LifecycleTransition.Established), Step(ref s, greBack, FlowDirection.Reply, T0 + 1));
        Assert.Equal(ConnectionPhase.OtherReplied, s.Phase);
        Assert.True(s.Phase.IsEstablished());
        Assert.Equal((1L, 200L, 1L, 300L), (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes));
    }

    [Fact]
    public void Tcp_flags_on_a_udp_or_other_packet_are_ignored()
    {
        // Flags only mean something for TCP; garbage in the field must not change a UDP verdict.
        var weird = new PacketHeader(IpProtocol.Udp, Client, 1, Server, 2, TcpFlags.Rst | TcpFlags.Ack, 0, 0, 40);
        Assert.Equal(FirstPacketVerdict.Open, CanOpen(weird));
        var s = Open(weird, T0);
        Assert.Equal(StepResult.Accept, Step(ref s, weird, FlowDirection.Original, T0 + 1));
        Assert.Equal(ConnectionPhase.UdpNew, s.Phase);
    }
}
