using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Registry;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Topology;
using static VslsActors.Cluster.Tests.VirtualSystems.VsHarness;

namespace VslsActors.Cluster.Tests.VirtualSystems;

/// <summary>Per-VS rate limits enforced by the VS actor: excess refused as over-limit by kind, the rest admitted.</summary>
public sealed class VirtualSystemLimitsTests
{
    /// <summary>Packets of one UDP flow (no sync, so nothing to journal).</summary>
    private static TimedPacket[] Dns(int count) => [.. Enumerable.Range(0, count).Select(i => Udp(1, 53, fromServer: i % 2 == 1))];

    [Fact]
    public async Task A_vs_over_its_packet_rate_refuses_the_excess_as_over_limit_packets_and_admits_the_rest()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start(), Config() with { PacketsPerSecond = 100 });

        // A full bucket holds one second's worth (100): of 1000 packets at once, exactly 100 pass.
        var flood = await Send(vs, Dns(1000));
        Assert.Equal(100, flood.Accepted);
        Assert.Equal(900, flood.OverLimit);
        Assert.Equal(900, flood.OverPacketRate);
        Assert.Equal(0, flood.OverConnectionLimit);

        // After 200 ms at least 20 more pass (100/s), never more than the burst. The VS's bucket runs on
        // DateTime.UtcNow, so the wait is measured on that clock too (a timer's delay may end a little
        // early by it): the first batch was taken before its reply, so before this reading.
        var firstTaken = DateTime.UtcNow;
        while (DateTime.UtcNow < firstTaken.AddMilliseconds(200))
            await Task.Delay(20);
        var later = await Send(vs, Dns(1000));
        Assert.InRange(later.Accepted, 20, 100);
        Assert.Equal(1000 - later.Accepted, later.OverPacketRate);

        var status = await Status(vs);
        Assert.Equal(flood.Add(later), status.Totals);
    }

    [Fact]
    public async Task A_vs_over_its_new_connection_rate_refuses_the_excess_openers_but_not_traffic_of_its_connections()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start(), Config() with { NewConnectionsPerSecond = 5 });

        var syns = await Send(vs, [.. Enumerable.Range(1, 20).Select(c => Tcp(c, 80, TcpFlags.Syn))]);
        Assert.Equal(5, syns.Accepted);
        Assert.Equal(15, syns.OverLimit);
        Assert.Equal(15, syns.OverNewConnectionRate);
        Assert.Equal(0, syns.OverPacketRate);

        // The admitted connections carry on whatever the rate: their SYN-ACKs are no new connections.
        var replies = await Send(vs, [.. Enumerable.Range(1, 5).Select(c => Tcp(c, 80, TcpFlags.Syn | TcpFlags.Ack, fromServer: true))]);
        Assert.Equal(5, replies.Accepted);
        var status = await Status(vs);
        Assert.Equal(5, status.Connections);
        Assert.Equal(15, status.Totals.OverNewConnectionRate);
    }

    [Fact]
    public async Task A_full_table_is_still_counted_as_over_the_connection_limit()
    {
        await using var harness = new VsHarness();
        var vs = StartVs(harness.Start(), Config(maxConnections: 2) with { NewConnectionsPerSecond = 1000 });
        var counts = await Send(vs, [.. Enumerable.Range(1, 5).Select(c => Tcp(c, 80, TcpFlags.Syn))]);
        Assert.Equal((2L, 3L, 3L, 0L), (counts.Accepted, counts.OverLimit, counts.OverConnectionLimit, counts.OverNewConnectionRate));
    }

    [Fact]
    public async Task A_configuration_applied_on_the_member_changes_the_limits_of_the_running_vs()
    {
        await using var harness = new VsHarness();
        var system = harness.Start();
        var vs = StartVs(system, Config());
        Assert.Equal(500, (await Send(vs, Dns(500))).Accepted);

        var limited = new Topology([Member], [Config() with { PacketsPerSecond = 50 }], VslsSettings.Default);
        // Published from this thread before the next Ask, so the VS handles it first.
        system.EventStream.Publish(new VslsConfigurationApplied(new VslsConfiguration(1, limited, [])));
        var after = await Send(vs, Dns(500));
        Assert.Equal(50, after.Accepted);
        Assert.Equal(450, after.OverPacketRate);

        system.EventStream.Publish(new VslsConfigurationApplied(new VslsConfiguration(2, new Topology([Member], [Config()], VslsSettings.Default), [])));
        Assert.Equal(500, (await Send(vs, Dns(500))).Accepted);
    }
}
