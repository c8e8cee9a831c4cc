using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using static VslsActors.Domain.Connections.ConnectionStateMachine;

namespace VslsActors.Domain.Tests.Connections;

public sealed class TcpStateMachineTests
{
    private static readonly NetAddress Client = NetAddress.Parse("10.0.0.1");
    private static readonly NetAddress Server = NetAddress.Parse("192.168.1.10");
    private const long T0 = 638_000_000_000_000_000L; // some UTC instant, in ticks
    private static readonly long Second = TimeSpan.TicksPerSecond;

    private static PacketHeader FromClient(TcpFlags flags, int length = 52) => PacketHeader.Tcp(Client, 40000, Server, 80, flags, length);
    private static PacketHeader FromServer(TcpFlags flags, int length = 52) => PacketHeader.Tcp(Server, 80, Client, 40000, flags, length);

    private const TcpFlags SynAck = TcpFlags.Syn | TcpFlags.Ack;
    private const TcpFlags FinAck = TcpFlags.Fin | TcpFlags.Ack;
    private const TcpFlags PshAck = TcpFlags.Psh | TcpFlags.Ack;

    private static ConnectionState Established()
    {
        var s = Open(FromClient(TcpFlags.Syn, 60), T0);
        Assert.True(Step(ref s, FromServer(SynAck, 60), FlowDirection.Reply, T0 + 1).Accepted);
        Assert.True(Step(ref s, FromClient(TcpFlags.Ack), FlowDirection.Original, T0 + 2).Accepted);
        Assert.Equal(ConnectionPhase.TcpEstablished, s.Phase);
        return s;
    }

    [Fact]
    public void Syn_opens_a_connection_in_syn_sent_and_counts_the_syn()
    {
        var syn = FromClient(TcpFlags.Syn, 60);
        Assert.Equal(FirstPacketVerdict.Open, CanOpen(syn));
        var s = Open(syn, T0);
        Assert.Equal(ConnectionPhase.TcpSynSent, s.Phase);
        Assert.Equal(IpProtocol.Tcp, s.Protocol);
        Assert.Equal((1L, 60L, 0L, 0L), (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes));
        Assert.Equal((T0, T0), (s.FirstSeen, s.LastSeen));
        Assert.False(s.Phase.IsEstablished());
        Assert.False(s.Phase.IsClosed());
    }

    [Fact]
    public void Three_way_handshake_establishes_on_the_originators_ack()
    {
        var s = Open(FromClient(TcpFlags.Syn, 60), T0);
        var synAck = Step(ref s, FromServer(SynAck, 60), FlowDirection.Reply, T0 + Second);
        Assert.Equal(StepResult.Accept, synAck);
        Assert.Equal(ConnectionPhase.TcpSynReceived, s.Phase);

        var ack = Step(ref s, FromClient(TcpFlags.Ack), FlowDirection.Original, T0 + 2 * Second);
        Assert.Equal(StepResult.AcceptWith(LifecycleTransition.Established), ack);
        Assert.Equal(ConnectionPhase.TcpEstablished, s.Phase);
        Assert.True(s.Phase.IsEstablished());
        Assert.Equal((2L, 112L, 1L, 60L), (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes));
        Assert.Equal(T0 + 2 * Second, s.LastSeen);
        Assert.Equal(T0, s.FirstSeen);
    }

    [Fact]
    public void Data_both_ways_is_counted_per_direction_without_lifecycle_changes()
    {
        var s = Established();
        var before = (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes);
        Assert.Equal(StepResult.Accept, Step(ref s, FromClient(PshAck, 500), FlowDirection.Original, T0 + 10));
        Assert.Equal(StepResult.Accept, Step(ref s, FromServer(PshAck, 1500), FlowDirection.Reply, T0 + 11));
        Assert.Equal(StepResult.Accept, Step(ref s, FromServer(TcpFlags.Ack | TcpFlags.Urg, 1400), FlowDirection.Reply, T0 + 12));
        Assert.Equal((before.OrigPackets + 1, before.OrigBytes + 500, before.RespPackets + 2, before.RespBytes + 2900),
            (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes));
        Assert.Equal(ConnectionPhase.TcpEstablished, s.Phase);
    }

    [Fact]
    public void Fin_from_one_side_half_closes_and_the_other_side_may_still_send_data()
    {
        var s = Established();
        Assert.Equal(StepResult.Accept, Step(ref s, FromClient(FinAck), FlowDirection.Original, T0 + 10));
        Assert.Equal(ConnectionPhase.TcpHalfClosed, s.Phase);
        Assert.True(s.OriginatorFinSeen);
        Assert.False(s.ResponderFinSeen);
        Assert.True(s.Phase.IsEstablished());

        Assert.Equal(StepResult.Accept, Step(ref s, FromServer(PshAck, 1000), FlowDirection.Reply, T0 + 11));
        Assert.Equal(StepResult.Accept, Step(ref s, FromClient(TcpFlags.Ack), FlowDirection.Original, T0 + 12));
        // A retransmitted FIN from the same side does not close the other half.
        Assert.Equal(StepResult.Accept, Step(ref s, FromClient(FinAck), FlowDirection.Original, T0 + 13));
        Assert.Equal(ConnectionPhase.TcpHalfClosed, s.Phase);

        Assert.Equal(StepResult.AcceptWith(LifecycleTransition.Closed), Step(ref s, FromServer(FinAck), FlowDirection.Reply, T0 + 14));
        Assert.Equal(ConnectionPhase.TcpClosed, s.Phase);
        Assert.True(s.Phase.IsClosed());
        Assert.False(s.Phase.IsEstablished());
    }

    [Fact]
    public void Responder_may_close_first()
    {
        var s = Established();
        Step(ref s, FromServer(FinAck), FlowDirection.Reply, T0 + 10);
        Assert.Equal(ConnectionPhase.TcpHalfClosed, s.Phase);
        Assert.True(s.ResponderFinSeen);
        Assert.Equal(StepResult.AcceptWith(LifecycleTransition.Closed), Step(ref s, FromClient(FinAck), FlowDirection.Original, T0 + 11));
        Assert.Equal(ConnectionPhase.TcpClosed, s.Phase);
    }

    [Fact]
    public void Final_ack_carrying_a_fin_establishes_and_half_closes_at_once()
    {
        var s = Open(FromClient(TcpFlags.Syn), T0);
        Step(ref s, FromServer(SynAck), FlowDirection.Reply, T0 + 1);
        Assert.Equal(StepResult.AcceptWith(LifecycleTransition.Established), Step(ref s, FromClient(FinAck), FlowDirection.Original, T0 + 2));
        Assert.Equal(ConnectionPhase.TcpHalfClosed, s.Phase);
    }

    public static TheoryData<int, bool> RstCases()
    {
        var data = new TheoryData<int, bool>();
        for (int stage = 0; stage < 4; stage++)
        {
            data.Add(stage, true);
            data.Add(stage, false);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(RstCases))]
    public void Rst_from_either_side_closes_in_any_open_phase(int stage, bool fromClient)
    {
        var s = Open(FromClient(TcpFlags.Syn), T0);
        if (stage >= 1) Step(ref s, FromServer(SynAck), FlowDirection.Reply, T0 + 1);
        if (stage >= 2) Step(ref s, FromClient(TcpFlags.Ack), FlowDirection.Original, T0 + 2);
        if (stage >= 3) Step(ref s, FromClient(FinAck), FlowDirection.Original, T0 + 3);
        var expectedBefore = new[] { ConnectionPhase.TcpSynSent, ConnectionPhase.TcpSynReceived, ConnectionPhase.TcpEstablished, ConnectionPhase.TcpHalfClosed }[stage];
        Assert.Equal(expectedBefore, s.Phase);

        var rst = fromClient ? FromClient(TcpFlags.Rst, 40) : FromServer(TcpFlags.Rst | TcpFlags.Ack, 40);
        var result = Step(ref s, rst, fromClient ? FlowDirection.Original : FlowDirection.Reply, T0 + 4);
        Assert.Equal(StepResult.AcceptWith(LifecycleTransition.Closed), result);
        Assert.Equal(ConnectionPhase.TcpReset, s.Phase);
        Assert.True(s.Phase.IsClosed());
    }

    [Fact]
    public void Retransmitted_syn_is_accepted_without_changing_state()
    {
        var s = Open(FromClient(TcpFlags.Syn, 60), T0);
        Assert.Equal(StepResult.Accept, Step(ref s, FromClient(TcpFlags.Syn, 60), FlowDirection.Original, T0 + Second));
        Assert.Equal(ConnectionPhase.TcpSynSent, s.Phase);
        Assert.Equal((2L, 120L), (s.OrigPackets, s.OrigBytes));
        Assert.Equal(T0 + Second, s.LastSeen);

        Step(ref s, FromServer(SynAck), FlowDirection.Reply, T0 + 2 * Second);
        // The SYN-ACK crossed a third SYN on the wire.
        Assert.Equal(StepResult.Accept, Step(ref s, FromClient(TcpFlags.Syn, 60), FlowDirection.Original, T0 + 3 * Second));
        Assert.Equal(ConnectionPhase.TcpSynReceived, s.Phase);
    }

    [Fact]
    public void Retransmitted_syn_ack_is_accepted_in_syn_received_and_established()
    {
        var s = Open(FromClient(TcpFlags.Syn), T0);
        Step(ref s, FromServer(SynAck), FlowDirection.Reply, T0 + 1);
        Assert.Equal(StepResult.Accept, Step(ref s, FromServer(SynAck), FlowDirection.Reply, T0 + 2));
        Assert.Equal(ConnectionPhase.TcpSynReceived, s.Phase);

        var e = Established();
        Assert.Equal(StepResult.Accept, Step(ref e, FromServer(SynAck), FlowDirection.Reply, T0 + 3));
        Assert.Equal(ConnectionPhase.TcpEstablished, e.Phase);
    }

    [Fact]
    public void Retransmitted_syn_does_not_reset_an_established_connection()
    {
        var s = Established();
        var packets = s.OrigPackets;
        Assert.Equal(StepResult.Accept, Step(ref s, FromClient(TcpFlags.Syn, 60), FlowDirection.Original, T0 + 10));
        Assert.Equal(ConnectionPhase.TcpEstablished, s.Phase);
        Assert.Equal(packets + 1, s.OrigPackets);
        Assert.Equal(T0, s.FirstSeen);
    }

    [Theory]
    [InlineData(TcpFlags.Ack, OutOfStateReason.TcpNoConnection)]
    [InlineData(TcpFlags.Ack | TcpFlags.Psh, OutOfStateReason.TcpNoConnection)]
    [InlineData(TcpFlags.Fin | TcpFlags.Ack, OutOfStateReason.TcpNoConnection)]
    [InlineData(TcpFlags.Fin, OutOfStateReason.TcpNoConnection)]
    [InlineData(TcpFlags.Rst, OutOfStateReason.TcpNoConnection)]
    [InlineData(TcpFlags.Rst | TcpFlags.Ack, OutOfStateReason.TcpNoConnection)]
    [InlineData(TcpFlags.Syn | TcpFlags.Ack, OutOfStateReason.TcpSynAckWithoutSyn)]
    [InlineData(TcpFlags.Syn | TcpFlags.Fin, OutOfStateReason.TcpInvalidFlags)]
    [InlineData(TcpFlags.Syn | TcpFlags.Rst, OutOfStateReason.TcpInvalidFlags)]
    [InlineData(TcpFlags.None, OutOfStateReason.TcpInvalidFlags)]
    [InlineData(TcpFlags.Psh | TcpFlags.Urg, OutOfStateReason.TcpInvalidFlags)]
    public void Tcp_packet_other_than_a_syn_without_a_connection_is_out_of_state(TcpFlags flags, OutOfStateReason reason)
    {
        var packet = FromClient(flags);
        Assert.Equal(FirstPacketVerdict.OutOfState(reason), CanOpen(packet));
        var e = Assert.Throws<InvalidOperationException>(() => Open(packet, T0));
        Assert.Contains(reason.ToString(), e.Message);
    }

    [Theory]
    [InlineData(true, TcpFlags.Ack)]
    [InlineData(true, TcpFlags.Psh | TcpFlags.Ack)]
    [InlineData(true, TcpFlags.Fin | TcpFlags.Ack)]
    [InlineData(false, TcpFlags.Ack)]
    [InlineData(false, TcpFlags.Fin | TcpFlags.Ack)]
    public void Packets_before_the_syn_ack_are_dropped_and_not_counted(bool fromClient, TcpFlags flags)
    {
        var s = Open(FromClient(TcpFlags.Syn, 60), T0);
        var before = s;
        var result = Step(ref s, fromClient ? FromClient(flags, 400) : FromServer(flags, 400), fromClient ? FlowDirection.Original : FlowDirection.Reply, T0 + 5);
        Assert.Equal(StepResult.Drop(OutOfStateReason.TcpHandshakeIncomplete), result);
        Assert.Equal(before, s);
    }

    [Fact]
    public void Responder_data_before_the_originators_ack_is_dropped()
    {
        var s = Open(FromClient(TcpFlags.Syn), T0);
        Step(ref s, FromServer(SynAck), FlowDirection.Reply, T0 + 1);
        var before = s;
        Assert.Equal(StepResult.Drop(OutOfStateReason.TcpHandshakeIncomplete), Step(ref s, FromServer(PshAck, 300), FlowDirection.Reply, T0 + 2));
        Assert.Equal(before, s);
        // A bare FIN from the originator does not acknowledge the SYN-ACK either.
        Assert.Equal(StepResult.Drop(OutOfStateReason.TcpHandshakeIncomplete), Step(ref s, FromClient(TcpFlags.Fin), FlowDirection.Original, T0 + 3));
        Assert.Equal(ConnectionPhase.TcpSynReceived, s.Phase);
    }

    [Theory]
    [InlineData(TcpFlags.Fin)]
    [InlineData(TcpFlags.None)]
    [InlineData(TcpFlags.Psh)]
    public void Packet_without_ack_on_an_established_connection_is_dropped(TcpFlags flags)
    {
        var s = Established();
        var before = s;
        Assert.Equal(StepResult.Drop(OutOfStateReason.TcpMissingAck), Step(ref s, FromServer(flags), FlowDirection.Reply, T0 + 10));
        Assert.Equal(before, s);
    }

    [Fact]
    public void Syn_with_fin_is_dropped_on_an_existing_connection()
    {
        var s = Established();
        var before = s;
        Assert.Equal(StepResult.Drop(OutOfStateReason.TcpInvalidFlags), Step(ref s, FromClient(TcpFlags.Syn | TcpFlags.Fin), FlowDirection.Original, T0 + 10));
        Assert.Equal(before, s);
    }

    [Fact]
    public void Late_ack_after_close_is_accepted_and_counted_but_does_not_reopen()
    {
        var s = Established();
        Step(ref s, FromClient(FinAck), FlowDirection.Original, T0 + 10);
        Step(ref s, FromServer(FinAck), FlowDirection.Reply, T0 + 11);
        var packets = s.OrigPackets;
        Assert.Equal(StepResult.Accept, Step(ref s, FromClient(TcpFlags.Ack), FlowDirection.Original, T0 + 12));
        Assert.Equal(StepResult.Accept, Step(ref s, FromServer(FinAck), FlowDirection.Reply, T0 + 13));
        Assert.Equal(StepResult.Accept, Step(ref s, FromClient(TcpFlags.Rst), FlowDirection.Original, T0 + 14));
        // A SYN-ACK is not a new connection either.
        Assert.Equal(StepResult.Accept, Step(ref s, FromServer(SynAck), FlowDirection.Reply, T0 + 15));
        Assert.Equal(ConnectionPhase.TcpClosed, s.Phase);
        Assert.Equal(packets + 2, s.OrigPackets);
        Assert.Equal(T0 + 15, s.LastSeen);
    }

    [Fact]
    public void New_syn_after_close_reopens_the_key_as_a_new_connection()
    {
        var s = Established();
        Step(ref s, FromServer(TcpFlags.Rst), FlowDirection.Reply, T0 + 10);
        var result = Step(ref s, FromClient(TcpFlags.Syn, 64), FlowDirection.Original, T0 + 20);
        Assert.Equal(StepResult.AcceptWith(LifecycleTransition.Reopened), result);
        Assert.Equal(ConnectionPhase.TcpSynSent, s.Phase);
        Assert.Equal((1L, 64L, 0L, 0L), (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes));
        Assert.Equal((T0 + 20, T0 + 20), (s.FirstSeen, s.LastSeen));
        Assert.False(s.OriginatorFinSeen || s.ResponderFinSeen);
    }

    [Fact]
    public void Syn_from_the_old_responder_reopens_with_the_responder_as_new_originator()
    {
        var key = FlowKey.FromPacket(FromClient(TcpFlags.Syn));
        var s = Established();
        Step(ref s, FromClient(FinAck), FlowDirection.Original, T0 + 10);
        Step(ref s, FromServer(FinAck), FlowDirection.Reply, T0 + 11);

        var reverseSyn = FromServer(TcpFlags.Syn, 60);
        Assert.Equal(FlowDirection.Reply, key.DirectionOf(reverseSyn));
        Assert.Equal(LifecycleTransition.Reopened, Step(ref s, reverseSyn, key.DirectionOf(reverseSyn), T0 + 12).Transition);
        // The caller re-keys, as LifecycleTransition.Reopened documents; the key is equal but the
        // originator flips, and the server's SYN now counts as the originator's.
        var newKey = FlowKey.FromPacket(reverseSyn);
        Assert.Equal(key, newKey);
        Assert.Equal(new FlowEndpoint(Server, 80), newKey.Originator);
        Assert.Equal((1L, 0L), (s.OrigPackets, s.RespPackets));
        var synAck = FromClient(SynAck);
        Assert.Equal(StepResult.Accept, Step(ref s, synAck, newKey.DirectionOf(synAck), T0 + 13));
        Assert.Equal(ConnectionPhase.TcpSynReceived, s.Phase);
    }

    [Fact]
    public void Stepping_a_state_that_was_never_opened_throws()
    {
        var s = default(ConnectionState);
        Assert.Throws<InvalidOperationException>(() => Step(ref s, FromClient(TcpFlags.Ack), FlowDirection.Original, T0));
    }

    [Fact]
    public void Out_of_order_timestamps_do_not_move_last_seen_back()
    {
        var s = Established();
        Step(ref s, FromClient(PshAck), FlowDirection.Original, T0 + 100);
        Step(ref s, FromServer(PshAck), FlowDirection.Reply, T0 + 90);
        Assert.Equal(T0 + 100, s.LastSeen);
        Assert.Equal(2L, s.RespPackets); // the SYN-ACK and the late packet are both counted
    }
}
