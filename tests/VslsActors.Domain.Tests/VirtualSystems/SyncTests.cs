using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Policy;
using VslsActors.Domain.VirtualSystems;
using static VslsActors.Domain.Tests.Policy.PolicyBuilders;

namespace VslsActors.Domain.Tests.VirtualSystems;

public sealed class SyncTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(3);

    [Fact]
    public void Immediate_sync_is_due_at_the_first_packet()
    {
        Assert.Equal(500, SyncRules.SyncDueAt(SyncMode.Immediate, 500, Delay));
        Assert.True(SyncRules.IsDue(SyncMode.Immediate, 500, Delay, 500));
    }

    [Fact]
    public void Delayed_sync_is_due_only_once_the_connection_has_lived_the_delay()
    {
        Assert.False(SyncRules.IsDue(SyncMode.Delayed, 0, Delay, Delay.Ticks - 1));
        Assert.True(SyncRules.IsDue(SyncMode.Delayed, 0, Delay, Delay.Ticks));
    }

    [Fact]
    public void No_sync_is_never_due()
    {
        Assert.Equal(SyncRules.Never, SyncRules.SyncDueAt(SyncMode.None, 0, Delay));
        Assert.False(SyncRules.IsDue(SyncMode.None, 0, Delay, long.MaxValue - 1));
    }

    [Fact]
    public void A_huge_delay_does_not_overflow_into_the_past()
    {
        Assert.Equal(SyncRules.Never, SyncRules.SyncDueAt(SyncMode.Delayed, DateTime.UtcNow.Ticks, TimeSpan.MaxValue));
    }

    [Fact]
    public void Synced_changes_have_the_persisted_delta_values()
    {
        // The cluster's DeltaKind casts to SyncedChange; these values are persisted and never change.
        Assert.Equal(1, (int)SyncedChange.Opened);
        Assert.Equal(2, (int)SyncedChange.Established);
        Assert.Equal(3, (int)SyncedChange.Closed);
        Assert.Equal(4, (int)SyncedChange.Expired);
    }
}

public sealed class SyncedTableTests
{
    private static SyncedConnection Conn(ushort port, ConnectionPhase phase = ConnectionPhase.TcpSynSent, long packets = 1)
    {
        var key = FlowKey.FromPacket(PacketHeader.Tcp(A("10.0.0.1"), port, A("10.0.0.2"), 80, TcpFlags.Syn, 60));
        var state = ConnectionState.Restore(phase, VslsActors.Domain.Net.IpProtocol.Tcp, false, false, packets, packets * 60, 0, 0, 10, 20);
        return new SyncedConnection(key, state, SyncMode.Immediate, "web");
    }

    [Fact]
    public void Recovery_applies_changes_in_order_on_top_of_the_checkpoint()
    {
        var table = SyncedTable.FromCheckpoint([Conn(1), Conn(2)]);
        table.Apply(SyncedChange.Established, Conn(1, ConnectionPhase.TcpEstablished, 3));
        table.Apply(SyncedChange.Expired, Conn(2));
        table.Apply(SyncedChange.Opened, Conn(3));

        Assert.Equal(2, table.Count);
        Assert.True(table.TryGet(Conn(1).Key, out var one));
        Assert.Equal(ConnectionPhase.TcpEstablished, one.State.Phase);
        Assert.Equal(3, one.State.OrigPackets);
        Assert.False(table.TryGet(Conn(2).Key, out _));
        Assert.True(table.TryGet(Conn(3).Key, out _));
    }

    [Fact]
    public void A_change_replayed_twice_leaves_the_same_table()
    {
        var table = new SyncedTable();
        table.Apply(SyncedChange.Opened, Conn(1));
        table.Apply(SyncedChange.Established, Conn(1, ConnectionPhase.TcpEstablished));
        table.Apply(SyncedChange.Established, Conn(1, ConnectionPhase.TcpEstablished));
        table.Apply(SyncedChange.Expired, Conn(1));
        table.Apply(SyncedChange.Expired, Conn(1));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void A_checkpoint_round_trips_every_connection()
    {
        var table = new SyncedTable();
        for (ushort p = 1; p <= 100; p++)
            table.Apply(SyncedChange.Opened, Conn(p, packets: p));
        var copy = SyncedTable.FromCheckpoint(table.ToCheckpoint());
        Assert.Equal(100, copy.Count);
        for (ushort p = 1; p <= 100; p++)
        {
            Assert.True(copy.TryGet(Conn(p).Key, out var c));
            Assert.Equal(p, c.State.OrigPackets);
        }
    }

    [Fact]
    public void The_key_keeps_its_originator_through_the_table()
    {
        // A reply-direction lookup finds the connection, and the stored key still knows who opened it.
        var table = new SyncedTable();
        table.Apply(SyncedChange.Opened, Conn(40000));
        var reply = FlowKey.FromPacket(PacketHeader.Tcp(A("10.0.0.2"), 80, A("10.0.0.1"), 40000, TcpFlags.Ack, 60));
        Assert.True(table.TryGet(reply, out var c));
        Assert.Equal(A("10.0.0.1"), c.Key.Originator.Address);
    }

    [Fact]
    public void An_unknown_change_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SyncedTable().Apply((SyncedChange)9, Conn(1)));
    }
}
