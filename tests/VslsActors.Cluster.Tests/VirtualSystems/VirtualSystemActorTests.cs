using Akka.Actor;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using static VslsActors.Cluster.Tests.VirtualSystems.VsHarness;

namespace VslsActors.Cluster.Tests.VirtualSystems;

public sealed class VirtualSystemActorTests
{
    [Fact]
    public async Task Policy_drops_rejects_out_of_state_and_over_limit_are_counted()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start(), Config(maxConnections: 2));

        var counts = await Send(vs,
            Tcp(1, 80, TcpFlags.Syn),            // opens
            Tcp(2, 80, TcpFlags.Syn),            // opens: the table is now full
            Tcp(3, 80, TcpFlags.Syn),            // accepted by policy, but over the limit
            Tcp(4, 23, TcpFlags.Syn),            // rejected by no-telnet
            Tcp(5, 22, TcpFlags.Syn),            // implicit cleanup drop
            Tcp(6, 80, TcpFlags.Ack));           // no connection: out of state

        Assert.Equal(new VerdictCounts(Accepted: 2, PolicyDropped: 1, Rejected: 1, OutOfState: 1, OverLimit: 1), counts);
        var status = await Status(vs);
        Assert.Equal(2, status.Connections);
        Assert.Equal(0, status.LiveConnectionActors); // opened as records: an actor comes with the next packet
        Assert.Equal(counts, status.Totals);
        Assert.Equal(2, status.DeltasJournaled); // two immediate-sync Opened deltas, durable before the reply

        // Traffic on an opened connection gives it its actor, which steps the packet from the opened state.
        var reply = await Send(vs, Tcp(1, 80, TcpFlags.Syn | TcpFlags.Ack, fromServer: true));
        Assert.Equal(1, reply.Accepted);
        Assert.Equal(1, (await Status(vs)).LiveConnectionActors);
    }

    [Fact]
    public async Task Established_tcp_keeps_flowing_without_out_of_state_drops()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start());

        var handshake = await SendEach(vs, Handshake(1, 80));
        Assert.Equal(3, handshake.Accepted);

        // Data both ways, several packets of one connection in one batch, mixed with a second connection.
        var data = new List<TimedPacket>();
        for (var i = 0; i < 50; i++)
        {
            data.Add(Tcp(1, 80, TcpFlags.Ack | TcpFlags.Psh));
            data.Add(Tcp(1, 80, TcpFlags.Ack, fromServer: true));
        }
        data.Add(Tcp(2, 80, TcpFlags.Syn));
        var counts = await Send(vs, [.. data]);

        Assert.Equal(101, counts.Accepted);
        Assert.Equal(0, counts.OutOfState);
        var status = await Status(vs);
        Assert.Equal(2, status.Connections);
        // Opened + Established for connection 1, Opened for connection 2.
        Assert.Equal(3, status.DeltasJournaled);
    }

    [Fact]
    public async Task Packets_for_a_handshake_not_yet_complete_are_out_of_state_in_the_connection_actor()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start());
        await Send(vs, Tcp(1, 80, TcpFlags.Syn));
        // Data from the client before any SYN-ACK: the connection exists, the packet does not fit its state.
        var counts = await Send(vs, Tcp(1, 80, TcpFlags.Ack | TcpFlags.Psh));
        Assert.Equal(1, counts.OutOfState);
        Assert.Equal(0, counts.Accepted);
    }

    [Fact]
    public async Task An_idle_connection_expires_by_its_timer_and_is_journaled_as_expired()
    {
        await using var harness = new VsHarness();
        var timeouts = ConnectionTimeouts.Default with { Udp = TimeSpan.FromMilliseconds(500) };
        var vs = StartVs(harness.Start(), Config(timeouts: timeouts));

        await Send(vs, Udp(1, 5000)); // immediate sync
        await AwaitStatus(vs, s => s.Connections == 0, "the UDP connection to expire");
        // The Expired delta is written after the entry is removed: wait for it to be durable.
        var status = await AwaitStatus(vs, s => s.DeltasJournaled == 2, "Opened and Expired to be journaled");
        Assert.Equal(0, status.LiveConnectionActors);
        Assert.Equal(0, status.Connections);
        // After expiry a reply packet has no connection any more.
        Assert.Equal(1, (await Send(vs, Udp(1, 5000, fromServer: true))).PolicyDropped);
    }

    [Fact]
    public async Task A_passivated_connection_is_rehydrated_on_its_next_packet_with_its_state_and_counters()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start(), settings: Settings(passivateAfter: TimeSpan.FromMilliseconds(300)));

        await SendEach(vs, Handshake(1, 80));
        await Send(vs, Tcp(1, 80, TcpFlags.Ack | TcpFlags.Psh), Tcp(1, 80, TcpFlags.Ack, fromServer: true));
        await AwaitStatus(vs, s => s.LiveConnectionActors == 0, "the connection actor to passivate");

        var record = await OnlyConnection(vs);
        Assert.Equal(ConnectionPhase.TcpEstablished, record.State.Phase);
        Assert.Equal(3, record.State.OrigPackets);
        Assert.Equal(2, record.State.RespPackets);

        // The next packet brings the actor back, in the established state (an ACK is accepted).
        var counts = await Send(vs, Tcp(1, 80, TcpFlags.Ack));
        Assert.Equal(1, counts.Accepted);
        Assert.Equal(1, (await Status(vs)).LiveConnectionActors);

        await AwaitStatus(vs, s => s.LiveConnectionActors == 0, "the rehydrated actor to passivate again");
        record = await OnlyConnection(vs);
        Assert.Equal(4, record.State.OrigPackets);
        Assert.Equal(2, record.State.RespPackets);
        Assert.Equal(1, (await Status(vs)).Connections);
    }

    [Fact]
    public async Task A_closed_connection_reopened_by_a_new_syn_goes_through_the_policy_again()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start(), settings: Settings(passivateAfter: TimeSpan.FromMilliseconds(200)));
        await SendEach(vs, Handshake(1, 80));
        await SendEach(vs,
            Tcp(1, 80, TcpFlags.Fin | TcpFlags.Ack),
            Tcp(1, 80, TcpFlags.Fin | TcpFlags.Ack, fromServer: true));
        await AwaitStatus(vs, s => s.LiveConnectionActors == 0, "the closed connection to passivate");

        var counts = await Send(vs, Tcp(1, 80, TcpFlags.Syn));
        Assert.Equal(1, counts.Accepted);
        var status = await AwaitStatus(vs, s => s.DeltasJournaled == 5, "Opened, Established, Closed, then Expired+Opened for the reopen");
        Assert.Equal(1, status.Connections);
    }

    [Fact]
    public async Task Listing_counts_every_packet_a_live_connection_actor_has_seen()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start());

        await SendEach(vs, Handshake(1, 80));
        // Established data: the lifecycle reports stop at Established, so only the actor knows these counts.
        for (var round = 0; round < 3; round++)
        {
            var data = new List<TimedPacket>();
            for (var i = 0; i < 7; i++)
                data.Add(Tcp(1, 80, TcpFlags.Ack | TcpFlags.Psh));
            for (var i = 0; i < 4; i++)
                data.Add(Tcp(1, 80, TcpFlags.Ack, fromServer: true));
            Assert.Equal(11, (await Send(vs, [.. data])).Accepted);
        }
        Assert.Equal(1, (await Status(vs)).LiveConnectionActors);

        var connection = await OnlyConnection(vs);
        Assert.Equal(ConnectionPhase.TcpEstablished, connection.State.Phase);
        Assert.Equal(2 + 3 * 7, connection.State.OrigPackets); // SYN, ACK, data
        Assert.Equal(1 + 3 * 4, connection.State.RespPackets); // SYN-ACK, data
        Assert.Equal((2 + 3 * 7) * 60, connection.State.OrigBytes);
        Assert.Equal((1 + 3 * 4) * 60, connection.State.RespBytes);
    }

    [Fact]
    public async Task Ensure_started_answers_with_member_and_start_time()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start());
        var started = await vs.Ask<VirtualSystemReplies.Started>(new VirtualSystemCommands.EnsureStarted(Id), TimeSpan.FromSeconds(10));
        Assert.Equal(Id, started.VsId);
        Assert.Equal(Member.Value, started.Member);
        Assert.InRange(started.StartedAtTicks, DateTime.UtcNow.AddMinutes(-1).Ticks, DateTime.UtcNow.Ticks);
    }

    private static async Task<ConnectionRecord> OnlyConnection(IActorRef vs)
    {
        var list = await vs.Ask<VirtualSystemReplies.Connections>(new VirtualSystemQueries.ListConnections(Id, 10), TimeSpan.FromSeconds(10));
        return Assert.Single(list.Items);
    }
}
