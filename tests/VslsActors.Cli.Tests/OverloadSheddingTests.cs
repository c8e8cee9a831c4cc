using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VslsActors.Cli.Tests.Ctl;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Overload;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Overload;
using VslsActors.Domain.Topology;
using VslsActors.Node;
using VslsActors.Node.Web;
using VslsActors.TestSupport;

namespace VslsActors.Cli.Tests;

/// <summary>
/// A real member (the <c>vsls node</c> host: cluster, sharded VS actors, overload monitor, management API)
/// overloaded by real traffic, checking the order of docs/degradation.md.
/// </summary>
public sealed class OverloadSheddingTests
{
    private static readonly VsId Flooded = new(1);
    private static readonly VsId Quiet = new(2);

    /// <summary>
    /// Thresholds at zero: every monitor tick in which a VS answered a batch is overloaded and every tick
    /// without one is calm. So the test drives the level by sending traffic or not, whatever the speed of
    /// the machine; the holds are whole ticks.
    /// </summary>
    private const string Hocon = """
        akka.loglevel = WARNING
        akka.log-dead-letters = off
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        vsls.overload {
          tick = 200ms
          enter-latency = 0ms
          exit-latency = 0ms
          enter-queue = 1000000000
          exit-queue = 1000000000
          enter-hold = 400ms
          escalate-hold = 1s
          exit-hold = 600ms
        }
        """;

    /// <summary>One member, three VSs of equal weight that accept TCP without syncing (no journal writes on the packet path).</summary>
    private static readonly Topology Topology = TopologyLoader.Parse("""
        vsls {
          members = [member-1]
          distribution = manual
          virtual-systems = [
            { id = 1, name = flooded, weight = 10, priority = [member-1], policy { rules = [ { name = all, action = accept, sync = none } ] } }
            { id = 2, name = quiet, weight = 10, priority = [member-1], policy { rules = [ { name = all, action = accept, sync = none } ] } }
            { id = 3, name = idle, weight = 10, priority = [member-1], policy { rules = [ { name = all, action = accept, sync = none } ] } }
          ]
        }
        """, "overload test topology");

    private static readonly NetAddress Server = NetAddress.FromIPv4(0xC0A8010Au); // 192.168.1.10

    private static TimedPacket Tcp(int client, TcpFlags flags, bool fromServer = false)
    {
        var address = NetAddress.FromIPv4(0x0A000000u + (uint)client);
        var port = (ushort)(40000 + client % 20000);
        return new(DateTime.UtcNow.Ticks, fromServer
            ? PacketHeader.Tcp(Server, 80, address, port, flags, 60)
            : PacketHeader.Tcp(address, port, Server, 80, flags, 60));
    }

    private static async Task<VerdictCounts> SendAsync(IActorRef region, VsId vs, TimedPacket[] packets) =>
        (await region.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(vs, packets), TimeSpan.FromSeconds(30))).Counts;

    private static TimedPacket[] Syns(int firstClient, int count) => [.. Enumerable.Range(firstClient, count).Select(c => Tcp(c, TcpFlags.Syn))];

    private static async Task WaitForAsync(Func<bool> condition, string what, MemberOverloadState state)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not reached within 30 s: {what} (level {state.Level}, over share [{string.Join(", ", state.OverShare)}])");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Opens <c>count</c> new connections on the flooded and on the quiet VS at once, at
    /// <paramref name="level"/> with <paramref name="overShare"/> over share; retried with new clients until
    /// the member's overload state stayed the same from before the first packet was sent to after the last
    /// answer (<see cref="MemberOverloadState.Version"/>), so the verdicts belong to that state.
    /// </summary>
    private static async Task<(VerdictCounts Flooded, VerdictCounts Quiet)> ProbeAsync(
        IActorRef region, MemberOverloadState state, OverloadLevel level, VsId[] overShare, int firstClient)
    {
        const int count = 5;
        for (var attempt = 0; attempt < 200; attempt++, firstClient += 2 * count)
        {
            var before = state.Version;
            if (before % 2 == 1 || state.Level != level || !state.OverShare.SetEquals(overShare))
            {
                Assert.True(state.Level <= level || level == OverloadLevel.Normal, $"the member went past level {level} before a probe could run in it");
                await Task.Delay(10);
                continue;
            }
            var flooded = SendAsync(region, Flooded, Syns(firstClient, count));
            var quiet = SendAsync(region, Quiet, Syns(firstClient + count, count));
            await Task.WhenAll(flooded, quiet);
            if (state.Version == before)
                return (flooded.Result, quiet.Result);
        }
        throw new TimeoutException($"no probe ran within one overload state at level {level}");
    }

    [Fact]
    public async Task An_overloaded_member_sheds_new_connections_of_over_share_vss_first_then_of_every_vs_keeps_established_ones_and_recovers()
    {
        using var temp = new TempDirectory("overload");
        var ports = LocalPorts.Free(2);
        var cluster = new VslsClusterOptions
        {
            Member = new MemberName("member-1"),
            Host = "127.0.0.1",
            Port = ports[0],
            SeedNodes = [$"akka.tcp://{VslsClusterOptions.SystemName}@127.0.0.1:{ports[0]}"],
            Topology = Topology,
            Database = new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={temp.File("vsls.db")}"),
            HostsVirtualSystems = true,
            ExtraHocon = Hocon,
        };
        var api = new ManagementOptions { Port = ports[1] }.WithTokens(ManagedCluster.Tokens);
        using var host = VslsHostFactory.Build(cluster, l => l.ClearProviders(), management: api);
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var region = await host.Services.GetRequiredService<ActorRegistry>().GetAsync<VirtualSystemRegion>();
            foreach (var vs in Topology.VirtualSystems)
                await region.Ask<VirtualSystemReplies.Started>(new VirtualSystemCommands.EnsureStarted(vs.Id), TimeSpan.FromSeconds(60));
            var state = MemberOverloadState.Get(system);
            Assert.Equal(OverloadLevel.Normal, state.Level);

            // Established connections of the flooded VS, opened while the member is normal.
            const int established = 50;
            var handshakes = Enumerable.Range(1, established)
                .SelectMany(c => new[] { Tcp(c, TcpFlags.Syn), Tcp(c, TcpFlags.Syn | TcpFlags.Ack, fromServer: true), Tcp(c, TcpFlags.Ack) }).ToArray();
            Assert.Equal(3 * established, (await SendAsync(region, Flooded, handshakes)).Accepted);

            // The load, non-stop from two senders until the test says stop: the packets of those connections,
            // and new connections of the same VS (the flood that makes it over its share).
            using var stop = new CancellationTokenSource();
            var nextFloodClient = 100_000;
            var loads = Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
            {
                var total = VerdictCounts.Zero;
                long sent = 0;
                while (!stop.IsCancellationRequested)
                {
                    var packets = Enumerable.Range(1, established)
                        .SelectMany(c => new[] { Tcp(c, TcpFlags.Ack | TcpFlags.Psh), Tcp(c, TcpFlags.Ack, fromServer: true) }).ToArray();
                    total = total.Add(await SendAsync(region, Flooded, packets));
                    sent += packets.Length;
                    await SendAsync(region, Flooded, Syns(Interlocked.Add(ref nextFloodClient, 10) - 10, 10));
                }
                return (Sent: sent, Counts: total);
            })).ToArray();

            // Level 1: the flooded VS brings nearly all new connections (with a third of the weight): its new
            // connections are shed, the quiet VS still opens its own.
            await WaitForAsync(() => state.Level == OverloadLevel.ShedOverShare, "level 1 under load", state);
            var (flooded1, quiet1) = await ProbeAsync(region, state, OverloadLevel.ShedOverShare, [Flooded], 1000);
            Assert.Equal((0L, 5L, 5L), (flooded1.Accepted, flooded1.OverLimit, flooded1.Overload));
            Assert.Equal((5L, 0L), (quiet1.Accepted, quiet1.OverLimit));
            var ha = (await ManagedCluster.GetJsonAsync(api.Endpoint, "ha")).GetProperty("members")[0];
            Assert.StartsWith("degraded: shedding new connections of", ha.GetProperty("degraded").GetString(), StringComparison.Ordinal);
            Assert.Contains("latency", ha.GetProperty("overload").GetProperty("reason").GetString(), StringComparison.Ordinal);

            // Level 2: every VS's new connections are shed.
            await WaitForAsync(() => state.Level == OverloadLevel.ShedAllNew, "level 2 under lasting load", state);
            var (flooded2, quiet2) = await ProbeAsync(region, state, OverloadLevel.ShedAllNew, [Flooded], 2000);
            Assert.Equal((0L, 5L), (flooded2.Accepted, flooded2.Overload));
            Assert.Equal((0L, 5L), (quiet2.Accepted, quiet2.Overload));

            // Established connections' packets were accepted throughout, at every level.
            await stop.CancelAsync();
            foreach (var (sent, counts) in await Task.WhenAll(loads))
            {
                Assert.True(sent > 0);
                Assert.Equal((sent, 0L), (counts.Accepted, counts.OverLimit));
            }

            // Without load it recovers by itself, one level per exit hold, and new connections open again.
            await WaitForAsync(() => state.Level == OverloadLevel.Normal, "back to normal once the load stopped", state);
            var (flooded3, quiet3) = await ProbeAsync(region, state, OverloadLevel.Normal, [], 3000);
            Assert.Equal((5L, 0L), (flooded3.Accepted, flooded3.OverLimit));
            Assert.Equal((5L, 0L), (quiet3.Accepted, quiet3.OverLimit));
        }
        finally
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await host.StopAsync(timeout.Token);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        }
    }
}
