using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using static VslsActors.Domain.Connections.ConnectionStateMachine;

namespace VslsActors.Domain.Tests.Connections;

public sealed class TimeoutTests
{
    private static readonly NetAddress Client = NetAddress.Parse("10.0.0.1");
    private static readonly NetAddress Server = NetAddress.Parse("192.168.1.10");
    private const long T0 = 638_000_000_000_000_000L;

    // Every value distinct, so a phase mapped to the wrong timeout cannot pass by coincidence.
    private static readonly ConnectionTimeouts Custom = new(
        TcpStart: TimeSpan.FromSeconds(5),
        TcpSession: TimeSpan.FromMinutes(10),
        TcpEnd: TimeSpan.FromSeconds(7),
        Udp: TimeSpan.FromSeconds(11),
        Icmp: TimeSpan.FromSeconds(13),
        Other: TimeSpan.FromSeconds(17));

    private static PacketHeader FromClient(TcpFlags flags) => PacketHeader.Tcp(Client, 40000, Server, 80, flags, 52);
    private static PacketHeader FromServer(TcpFlags flags) => PacketHeader.Tcp(Server, 80, Client, 40000, flags, 52);

    /// <summary>A connection driven into <paramref name="phase"/>, with its last packet at T0.</summary>
    private static ConnectionState InPhase(ConnectionPhase phase)
    {
        ConnectionState s;
        switch (phase)
        {
            case ConnectionPhase.UdpNew or ConnectionPhase.UdpReplied:
                s = Open(PacketHeader.Udp(Client, 1000, Server, 53, 60), T0);
                if (phase == ConnectionPhase.UdpReplied)
                    Step(ref s, PacketHeader.Udp(Server, 53, Client, 1000, 60), FlowDirection.Reply, T0);
                break;
            case ConnectionPhase.IcmpRequested or ConnectionPhase.IcmpAnswered:
                s = Open(PacketHeader.Icmp(Client, Server, IcmpTypes.EchoRequestV4, 1, 84), T0);
                if (phase == ConnectionPhase.IcmpAnswered)
                    Step(ref s, PacketHeader.Icmp(Server, Client, IcmpTypes.EchoReplyV4, 1, 84), FlowDirection.Reply, T0);
                break;
            case ConnectionPhase.OtherNew or ConnectionPhase.OtherReplied:
                s = Open(PacketHeader.OtherIp((IpProtocol)47, Client, Server, 100), T0);
                if (phase == ConnectionPhase.OtherReplied)
                    Step(ref s, PacketHeader.OtherIp((IpProtocol)47, Server, Client, 100), FlowDirection.Reply, T0);
                break;
            default:
                s = Open(FromClient(TcpFlags.Syn), T0);
                if (phase >= ConnectionPhase.TcpSynReceived) Step(ref s, FromServer(TcpFlags.Syn | TcpFlags.Ack), FlowDirection.Reply, T0);
                if (phase >= ConnectionPhase.TcpEstablished) Step(ref s, FromClient(TcpFlags.Ack), FlowDirection.Original, T0);
                if (phase >= ConnectionPhase.TcpHalfClosed) Step(ref s, FromClient(TcpFlags.Fin | TcpFlags.Ack), FlowDirection.Original, T0);
                if (phase == ConnectionPhase.TcpClosed) Step(ref s, FromServer(TcpFlags.Fin | TcpFlags.Ack), FlowDirection.Reply, T0);
                if (phase == ConnectionPhase.TcpReset) Step(ref s, FromServer(TcpFlags.Rst), FlowDirection.Reply, T0);
                break;
        }
        Assert.Equal(phase, s.Phase);
        return s;
    }

    public static TheoryData<ConnectionPhase, int, int> PhaseTimeouts => new()
    {
        // phase, default seconds, custom seconds
        { ConnectionPhase.TcpSynSent, 25, 5 },
        { ConnectionPhase.TcpSynReceived, 25, 5 },
        { ConnectionPhase.TcpEstablished, 3600, 600 },
        { ConnectionPhase.TcpHalfClosed, 20, 7 },
        { ConnectionPhase.TcpClosed, 20, 7 },
        { ConnectionPhase.TcpReset, 20, 7 },
        { ConnectionPhase.UdpNew, 40, 11 },
        { ConnectionPhase.UdpReplied, 40, 11 },
        { ConnectionPhase.IcmpRequested, 30, 13 },
        { ConnectionPhase.IcmpAnswered, 30, 13 },
        { ConnectionPhase.OtherNew, 60, 17 },
        { ConnectionPhase.OtherReplied, 60, 17 },
    };

    [Theory]
    [MemberData(nameof(PhaseTimeouts))]
    public void Each_phase_uses_its_protocols_timeout_by_default_and_per_vs(ConnectionPhase phase, int defaultSeconds, int customSeconds)
    {
        var s = InPhase(phase);
        Assert.Equal(TimeSpan.FromSeconds(defaultSeconds), IdleTimeout(s, ConnectionTimeouts.Default));
        Assert.Equal(TimeSpan.FromSeconds(customSeconds), IdleTimeout(s, Custom));
        Assert.Equal(T0 + TimeSpan.FromSeconds(customSeconds).Ticks, ExpiresAt(s, Custom));
    }

    [Theory]
    [MemberData(nameof(PhaseTimeouts))]
    public void Connection_expires_exactly_when_idle_for_its_timeout(ConnectionPhase phase, int defaultSeconds, int customSeconds)
    {
        var s = InPhase(phase);
        foreach (var (timeouts, seconds) in new[] { (ConnectionTimeouts.Default, defaultSeconds), (Custom, customSeconds) })
        {
            var timeout = TimeSpan.FromSeconds(seconds).Ticks;
            Assert.False(IsExpired(s, T0, timeouts));
            Assert.False(IsExpired(s, T0 + timeout - 1, timeouts));
            Assert.True(IsExpired(s, T0 + timeout, timeouts));
        }
    }

    [Fact]
    public void Accepted_packets_restart_the_idle_timer_and_dropped_ones_do_not()
    {
        var s = InPhase(ConnectionPhase.TcpEstablished);
        var later = T0 + TimeSpan.FromMinutes(59).Ticks;
        Step(ref s, FromClient(TcpFlags.Ack), FlowDirection.Original, later);
        Assert.False(IsExpired(s, T0 + TimeSpan.FromMinutes(61).Ticks, ConnectionTimeouts.Default));

        var dropped = Step(ref s, FromServer(TcpFlags.None), FlowDirection.Reply, later + TimeSpan.FromMinutes(30).Ticks);
        Assert.False(dropped.Accepted);
        Assert.True(IsExpired(s, later + TimeSpan.FromMinutes(60).Ticks, ConnectionTimeouts.Default));
    }

    [Fact]
    public void First_fin_switches_a_long_lived_connection_to_the_end_timeout()
    {
        var s = InPhase(ConnectionPhase.TcpEstablished);
        Assert.False(IsExpired(s, T0 + TimeSpan.FromSeconds(30).Ticks, ConnectionTimeouts.Default));
        Step(ref s, FromServer(TcpFlags.Fin | TcpFlags.Ack), FlowDirection.Reply, T0);
        Assert.True(IsExpired(s, T0 + TimeSpan.FromSeconds(30).Ticks, ConnectionTimeouts.Default));
    }

    [Fact]
    public void Expired_connection_is_gone_and_a_late_ack_is_then_out_of_state()
    {
        var table = new TestConnectionTable(Custom);
        table.Receive(FromClient(TcpFlags.Syn), T0);
        table.Receive(FromServer(TcpFlags.Syn | TcpFlags.Ack), T0 + 1);
        table.Receive(FromClient(TcpFlags.Ack), T0 + 2);
        table.Receive(FromClient(TcpFlags.Fin | TcpFlags.Ack), T0 + 3);
        table.Receive(FromServer(TcpFlags.Fin | TcpFlags.Ack), T0 + 4);

        // Within the TCP end timeout (7 s here) a late ACK is accepted ...
        Assert.True(table.Receive(FromClient(TcpFlags.Ack), T0 + TimeSpan.FromSeconds(6).Ticks).Accepted);
        // ... after it, the connection has expired, so the same ACK has no connection.
        var late = table.Receive(FromClient(TcpFlags.Ack), T0 + TimeSpan.FromSeconds(14).Ticks);
        Assert.Equal(StepResult.Drop(OutOfStateReason.TcpNoConnection), late);
        Assert.Equal(0, table.Count);
        Assert.Equal(1, table.OutOfStateDrops);
    }
}
