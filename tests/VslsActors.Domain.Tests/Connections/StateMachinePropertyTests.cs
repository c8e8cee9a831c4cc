using CsCheck;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using static VslsActors.Domain.Connections.ConnectionStateMachine;

namespace VslsActors.Domain.Tests.Connections;

public sealed class StateMachinePropertyTests
{
    private static readonly NetAddress Client = NetAddress.Parse("10.0.0.1");
    private static readonly NetAddress Server = NetAddress.Parse("10.0.0.2");
    private const long T0 = 638_000_000_000_000_000L;

    /// <summary>One packet of a random conversation: sender, flags, length, time since the previous one.</summary>
    private readonly record struct Move(bool FromClient, TcpFlags Flags, int Length, int Delay);

    // Mostly the flag combinations real stacks send (so sequences get past the handshake and
    // through closes and reopens), plus any byte at all.
    private static readonly Gen<TcpFlags> GenFlags = Gen.Frequency<TcpFlags>(
        (3, Gen.OneOf(TcpFlags.Syn, TcpFlags.Syn | TcpFlags.Ack, TcpFlags.Ack, TcpFlags.Psh | TcpFlags.Ack,
            TcpFlags.Fin | TcpFlags.Ack, TcpFlags.Rst, TcpFlags.Rst | TcpFlags.Ack)),
        (1, (IGen<TcpFlags>)Gen.Byte.Select(b => (TcpFlags)(b & 0x3F))));

    private static readonly Gen<Move> GenMove = Gen.Select(Gen.Bool, GenFlags, Gen.Int[20, 1500], Gen.Int[0, 1000], (c, f, l, d) => new Move(c, f, l, d));

    [Fact]
    public void Tcp_never_leaves_a_closed_phase_without_a_new_syn_and_counters_sum_the_accepted_packets()
    {
        GenMove.Array[1, 60].Sample(moves =>
        {
            var syn = PacketHeader.Tcp(Client, 40000, Server, 80, TcpFlags.Syn, 60);
            var key = FlowKey.FromPacket(syn);
            var s = Open(syn, T0);
            long origPackets = 1, origBytes = 60, respPackets = 0, respBytes = 0, now = T0, lastSeen = T0;
            bool wasEstablished = false;

            foreach (var m in moves)
            {
                now += m.Delay;
                var p = m.FromClient
                    ? PacketHeader.Tcp(Client, 40000, Server, 80, m.Flags, m.Length)
                    : PacketHeader.Tcp(Server, 80, Client, 40000, m.Flags, m.Length);
                var direction = key.DirectionOf(p);
                var before = s;
                var r = Step(ref s, p, direction, now);

                if (!r.Accepted)
                {
                    Assert.Equal(before, s);
                    Assert.NotEqual(OutOfStateReason.None, r.Reason);
                    continue;
                }
                Assert.Equal(OutOfStateReason.None, r.Reason);

                if (before.Phase.IsClosed() && !s.Phase.IsClosed())
                {
                    // The only way out of a closed phase: a SYN (no ACK) reopening in SynSent.
                    Assert.Equal(TcpFlags.Syn, m.Flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Fin | TcpFlags.Rst));
                    Assert.Equal(LifecycleTransition.Reopened, r.Transition);
                    Assert.Equal(ConnectionPhase.TcpSynSent, s.Phase);
                }
                Assert.False(before.Phase.IsClosed() && s.Phase.IsEstablished());

                switch (r.Transition)
                {
                    case LifecycleTransition.Reopened:
                        key = FlowKey.FromPacket(p);
                        (origPackets, origBytes, respPackets, respBytes, lastSeen) = (1, m.Length, 0, 0, now);
                        wasEstablished = false;
                        Assert.Equal(now, s.FirstSeen);
                        break;
                    case LifecycleTransition.Established:
                        Assert.False(wasEstablished, "established twice without a reopen");
                        Assert.True(s.Phase.IsEstablished());
                        wasEstablished = true;
                        goto default;
                    case LifecycleTransition.Closed:
                        Assert.False(before.Phase.IsClosed());
                        Assert.True(s.Phase.IsClosed());
                        goto default;
                    default:
                        if (r.Transition == LifecycleTransition.None)
                            Assert.Equal(before.Phase.IsClosed(), s.Phase.IsClosed());
                        if (direction == FlowDirection.Original) { origPackets++; origBytes += m.Length; }
                        else { respPackets++; respBytes += m.Length; }
                        lastSeen = Math.Max(lastSeen, now);
                        break;
                }
                Assert.Equal((origPackets, origBytes, respPackets, respBytes, lastSeen),
                    (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes, s.LastSeen));
            }
        }, iter: 5_000);
    }

    public static TheoryData<int> PseudoProtocols => new() { (int)IpProtocol.Udp, (int)IpProtocol.Icmp, (int)IpProtocol.IcmpV6, 47 };

    [Theory]
    [MemberData(nameof(PseudoProtocols))]
    public void Pseudo_sessions_establish_once_on_the_first_reply_and_count_every_accepted_packet(int protocolNumber)
    {
        var protocol = (IpProtocol)protocolNumber;
        var (request, reply) = protocol == IpProtocol.IcmpV6 ? (IcmpTypes.EchoRequestV6, IcmpTypes.EchoReplyV6) : (IcmpTypes.EchoRequestV4, IcmpTypes.EchoReplyV4);
        var client = protocol == IpProtocol.IcmpV6 ? NetAddress.Parse("2001:db8::1") : Client;
        var server = protocol == IpProtocol.IcmpV6 ? NetAddress.Parse("2001:db8::2") : Server;
        PacketHeader Make(bool fromClient, bool replyType, int length)
        {
            var (src, dst) = fromClient ? (client, server) : (server, client);
            return new PacketHeader(protocol, src, (ushort)(fromClient ? 5000 : 53), dst, (ushort)(fromClient ? 53 : 5000),
                TcpFlags.None, replyType ? reply : request, 7, length);
        }

        Gen.Select(Gen.Bool, Gen.Bool, Gen.Int[20, 1500]).Array[1, 40].Sample(moves =>
        {
            var first = Make(true, false, 100);
            var key = FlowKey.FromPacket(first);
            var s = Open(first, T0);
            long orig = 1, origBytes = 100, resp = 0, respBytes = 0;
            int establishedCount = 0;
            foreach (var (fromClient, replyType, length) in moves)
            {
                var p = Make(fromClient, replyType, length);
                var direction = key.DirectionOf(p);
                var wasEstablished = s.Phase.IsEstablished();
                var r = Step(ref s, p, direction, T0 + 1);
                Assert.NotEqual(LifecycleTransition.Closed, r.Transition);
                Assert.False(s.Phase.IsClosed());
                Assert.True(!wasEstablished || s.Phase.IsEstablished(), "an answered pseudo-session fell back");
                if (r.Transition == LifecycleTransition.Established)
                    establishedCount++;
                if (r.Accepted)
                {
                    if (direction == FlowDirection.Original) { orig++; origBytes += length; }
                    else { resp++; respBytes += length; }
                }
                else
                {
                    // Only ICMP drops, and only an echo reply sent by the requester.
                    Assert.True(protocol is IpProtocol.Icmp or IpProtocol.IcmpV6);
                    Assert.Equal(OutOfStateReason.IcmpEchoReplyFromRequester, r.Reason);
                }
            }
            Assert.True(establishedCount <= 1);
            Assert.Equal(establishedCount == 1, s.Phase.IsEstablished());
            Assert.Equal((orig, origBytes, resp, respBytes), (s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes));
        }, iter: 2_000);
    }
}
