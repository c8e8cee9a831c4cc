using Akka.Actor;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Tests.Support;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Cluster.Tests.Sharding;

/// <summary>
/// The promise of VSLS with the production VS actor: connections established before a member
/// dies, leaves, or the whole cluster restarts keep flowing afterwards, with no out-of-state drop.
/// Every reply of a VS means its deltas are journaled, so "established before" is exact.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ConnectionFailoverClusterTests
{
    private static readonly string[] Members = ["member-1", "member-2", "member-3"];

    // VS 1 Active on member-1, VS 2 on member-2 (Standby member-3), VS 3 on member-3 (Standby member-1).
    private static readonly string[] Priorities = ["member-1,member-2,member-3", "member-2,member-3,member-1", "member-3,member-1,member-2"];

    private const int ConnectionsPerVs = 40;

    // Checkpoints every few deltas, so recovery exercises checkpoint + later deltas, not deltas alone.
    private const string FrequentCheckpoints = "vsls.virtual-system.checkpoint-every-deltas = 25";

    [Fact]
    public async Task Established_connections_keep_flowing_on_the_standby_when_the_active_member_is_killed()
    {
        await using var cluster = NewCluster();
        await cluster.StartAsync(Members);
        await cluster.AwaitActiveAsync(new VsId(2), "member-2");

        var opened = await OpenConnections(cluster, new VsId(2), via: "member-1");
        Assert.Equal(3 * ConnectionsPerVs, opened.Accepted);

        await cluster.KillAsync("member-2");
        await cluster.AwaitActiveAsync(new VsId(2), "member-3", TimeSpan.FromSeconds(30));

        var after = await SendData(cluster, new VsId(2), via: "member-1");
        Assert.Equal(0, after.OutOfState);
        Assert.Equal(ConnectionsPerVs, after.Accepted);
    }

    [Fact]
    public async Task A_graceful_leave_hands_the_vss_over_with_every_connection()
    {
        await using var cluster = NewCluster();
        await cluster.StartAsync(Members);
        await cluster.AwaitActiveAsync(new VsId(3), "member-3");

        await OpenConnections(cluster, new VsId(3), via: "member-2");
        await cluster.LeaveAsync("member-3");
        await cluster.AwaitActiveAsync(new VsId(3), "member-1", TimeSpan.FromSeconds(30));

        var after = await SendData(cluster, new VsId(3), via: "member-2");
        Assert.Equal(0, after.OutOfState);
        Assert.Equal(ConnectionsPerVs, after.Accepted);
    }

    [Fact]
    public async Task A_full_cluster_restart_restores_every_vss_connections_from_checkpoints_and_deltas()
    {
        var database = VslsTestCluster.NewDatabasePath();
        var vss = new[] { new VsId(1), new VsId(2), new VsId(3) };
        try
        {
            await using (var first = NewCluster(database))
            {
                await first.StartAsync(Members);
                foreach (var vs in vss)
                {
                    await first.AwaitActiveAsync(vs, Priorities[vs.Value - 1].Split(',')[0]);
                    await OpenConnections(first, vs, via: "member-1");
                }
                // Every member stops at once: nothing is handed over, all must come from the database.
                foreach (var name in Members)
                    await first.KillAsync(name);
            }

            await using var second = NewCluster(database);
            await second.StartAsync(Members);
            foreach (var vs in vss)
            {
                await second.AwaitActiveAsync(vs, Priorities[vs.Value - 1].Split(',')[0], TimeSpan.FromSeconds(30));
                var status = await second["member-1"].Region.Ask<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(vs), TimeSpan.FromSeconds(5));
                Assert.Equal(ConnectionsPerVs, status.RecoveredConnections);
                Assert.True(status.Connections >= ConnectionsPerVs, $"VS {vs} tracks {status.Connections} connections after the restart");

                var after = await SendData(second, vs, via: "member-2");
                Assert.Equal(0, after.OutOfState);
                Assert.Equal(ConnectionsPerVs, after.Accepted);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
                File.Delete(database + suffix);
        }
    }

    private static VslsTestCluster NewCluster(string? database = null) =>
        new(TestTopologies.Manual(Members, Priorities, acceptAll: true), database, FrequentCheckpoints, realVirtualSystems: true);

    /// <summary>Opens <see cref="ConnectionsPerVs"/> TCP connections (SYN, SYN-ACK, ACK) in one batch.</summary>
    private static Task<VerdictCounts> OpenConnections(VslsTestCluster cluster, VsId vs, string via)
    {
        var now = DateTime.UtcNow.Ticks;
        var packets = new List<TimedPacket>();
        for (var i = 0; i < ConnectionsPerVs; i++)
        {
            var (client, server, port) = Endpoints(vs, i);
            packets.Add(new TimedPacket(now, PacketHeader.Tcp(client, port, server, 443, TcpFlags.Syn, 60)));
            packets.Add(new TimedPacket(now, PacketHeader.Tcp(server, 443, client, port, TcpFlags.Syn | TcpFlags.Ack, 60)));
            packets.Add(new TimedPacket(now, PacketHeader.Tcp(client, port, server, 443, TcpFlags.Ack, 52)));
        }
        return Send(cluster, vs, via, packets);
    }

    /// <summary>One data packet (PSH+ACK) on each connection opened by <see cref="OpenConnections"/>.</summary>
    private static Task<VerdictCounts> SendData(VslsTestCluster cluster, VsId vs, string via)
    {
        var now = DateTime.UtcNow.Ticks;
        var packets = new List<TimedPacket>();
        for (var i = 0; i < ConnectionsPerVs; i++)
        {
            var (client, server, port) = Endpoints(vs, i);
            packets.Add(new TimedPacket(now, PacketHeader.Tcp(client, port, server, 443, TcpFlags.Psh | TcpFlags.Ack, 400)));
        }
        return Send(cluster, vs, via, packets);
    }

    private static async Task<VerdictCounts> Send(VslsTestCluster cluster, VsId vs, string via, List<TimedPacket> packets)
    {
        var reply = await cluster[via].Region.Ask<VirtualSystemReplies.PacketVerdicts>(
            new VirtualSystemCommands.ProcessPackets(vs, [.. packets]), TimeSpan.FromSeconds(15));
        return reply.Counts;
    }

    private static (NetAddress Client, NetAddress Server, ushort Port) Endpoints(VsId vs, int i) =>
        (NetAddress.FromIPv4(0x0A000000u | ((uint)vs.Value << 16) | (uint)(i + 10)), NetAddress.FromIPv4(0xC0A80001u + (uint)vs.Value), (ushort)(40000 + i));
}
