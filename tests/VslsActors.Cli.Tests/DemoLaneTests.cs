using VslsActors.Cli.Demo;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Traffic;

namespace VslsActors.Cli.Tests;

/// <summary>Which connections the demo driver may count as synced after its VS moved between homes.</summary>
public sealed class DemoLaneTests
{
    private static readonly long T0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
    private static readonly TimeSpan SyncDelay = TimeSpan.FromSeconds(3);

    private static FlowProbe Probe(int port, SyncMode sync, long firstPacketAt)
    {
        var client = NetAddress.Parse("10.0.0.1");
        var server = NetAddress.Parse("10.0.0.2");
        var header = PacketHeader.Tcp(client, (ushort)port, server, 443, TcpFlags.Ack, 52);
        return new FlowProbe(new VsId(1), port, FlowKey.FromPacket(header), header, sync, firstPacketAt, firstPacketAt + TimeSpan.TicksPerSecond, sync == SyncMode.Delayed ? SyncDelay : TimeSpan.Zero);
    }

    [Fact]
    public void A_delayed_sync_connection_not_yet_swept_when_its_vs_moved_counts_as_lost_in_the_move()
    {
        var lane = new DemoRunner.Lane();
        // The VS moved at T0 + 5 s; its old home had swept due times up to T0 + 2 s.
        lane.Moves.Add((T0 + 5 * TimeSpan.TicksPerSecond, T0 + 2 * TimeSpan.TicksPerSecond));

        Assert.True(lane.LostInAMove(Probe(40001, SyncMode.Delayed, T0))); // due T0 + 3 s, not swept
        Assert.False(lane.LostInAMove(Probe(40002, SyncMode.Delayed, T0 - 2 * TimeSpan.TicksPerSecond))); // due T0 + 1 s, swept
        Assert.False(lane.LostInAMove(Probe(40003, SyncMode.Delayed, T0 + 6 * TimeSpan.TicksPerSecond))); // opened after the move
        Assert.False(lane.LostInAMove(Probe(40004, SyncMode.Immediate, T0))); // journaled with its answered packets
    }

    [Fact]
    public void A_connection_with_a_packet_stranded_at_the_old_home_counts_as_lost_in_the_move()
    {
        var lane = new DemoRunner.Lane();
        var stranded = Probe(40005, SyncMode.Immediate, T0);
        lane.Stranded.Add(stranded.Key);
        Assert.True(lane.LostInAMove(stranded));
        Assert.False(lane.LostInAMove(Probe(40006, SyncMode.Immediate, T0)));
    }
}
