using System.Text.Json;
using VslsActors.Cli.Demo;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Node;

namespace VslsActors.Cli.Tests;

public sealed class DemoReportTests
{
    private static DemoReport Sample() => new()
    {
        Members = [new MemberReport("member-1", 4053, false, 4, 6, 1000), new MemberReport("member-3", 4055, true, 4, 0, 500)],
        VirtualSystems = [new VirtualSystemReport(3, "finance", "member-3", "member-1", true, 1234.5, 42)],
        PacketsSent = 10,
        PacketsAccepted = 8,
        PolicyDrops = 1,
        OutOfStateDrops = 1,
        ConnectionsOpened = 5,
        ConnectionsSynced = 4,
        ConnectionsLostOnFailover = 0,
        FailoverGapMs = new Dictionary<string, double> { ["3"] = 1234.5 },
        FailoverGapMsMax = 1234.5,
        ThroughputPps = 99.5,
        Failover = true,
        KilledMember = "member-3",
    };

    [Fact]
    public void The_json_report_has_every_required_key_in_snake_case()
    {
        using var doc = JsonDocument.Parse(Sample().ToJson());
        var root = doc.RootElement;
        foreach (var key in new[] { "members", "virtual_systems", "packets_sent", "packets_accepted", "policy_drops", "out_of_state_drops",
                     "connections_opened", "connections_synced", "connections_lost_on_failover", "failover_gap_ms", "throughput_pps" })
            Assert.True(root.TryGetProperty(key, out _), $"missing {key}");
        Assert.Equal(1234.5, root.GetProperty("failover_gap_ms").GetProperty("3").GetDouble());
        Assert.Equal("member-3", root.GetProperty("members")[1].GetProperty("name").GetString());
        Assert.True(root.GetProperty("members")[1].GetProperty("killed").GetBoolean());
        Assert.Equal(3, root.GetProperty("virtual_systems")[0].GetProperty("id").GetInt32());
        Assert.Equal(1234.5, root.GetProperty("virtual_systems")[0].GetProperty("failover_gap_ms").GetDouble());
        // No PascalCase leaks.
        Assert.DoesNotContain("\"PacketsSent\"", Sample().ToJson());
    }

    private static VirtualSystemReplies.PacketVerdicts Verdicts(int vs, string member, long accepted, long outOfState = 0) =>
        new(new VsId(vs), member, new VerdictCounts(accepted, 0, 0, outOfState, 0));

    [Fact]
    public void Failover_gap_runs_from_the_last_accept_before_the_kill_to_the_first_accept_elsewhere()
    {
        var t = new DemoTally();
        t.Record(new VsId(3), Verdicts(3, "member-3", 10), TimeSpan.FromMilliseconds(1000));
        t.Record(new VsId(1), Verdicts(1, "member-1", 10), TimeSpan.FromMilliseconds(1000));
        t.Record(new VsId(3), Verdicts(3, "member-3", 10), TimeSpan.FromMilliseconds(1900));
        var victims = t.MarkKill("member-3", TimeSpan.FromMilliseconds(2000));
        Assert.Equal([new VsId(3)], victims);
        Assert.False(t.AllRecovered());
        // A reply the victim sent just before dying, received after the kill, still counts as before.
        t.Record(new VsId(3), Verdicts(3, "member-3", 1), TimeSpan.FromMilliseconds(2010));
        // Out-of-state only: not an accept, the gap does not end there.
        t.Record(new VsId(3), Verdicts(3, "member-2", 0, outOfState: 5), TimeSpan.FromMilliseconds(3000));
        t.Record(new VsId(3), Verdicts(3, "member-2", 4), TimeSpan.FromMilliseconds(3500));
        t.Record(new VsId(3), Verdicts(3, "member-2", 4), TimeSpan.FromMilliseconds(3600));
        Assert.True(t.AllRecovered());
        Assert.Equal(1490, t.Gaps()[new VsId(3)], 3);
        Assert.Single(t.Gaps());
        Assert.Equal("member-2", t.MemberOf(new VsId(3)));
        var (_, totals, _) = t.Totals();
        Assert.Equal(39, totals.Accepted);
        Assert.Equal(5, totals.OutOfState);
    }

    [Fact]
    public void Free_ports_are_distinct()
    {
        var ports = LocalPorts.Free(5);
        Assert.Equal(5, ports.Distinct().Count());
        Assert.All(ports, p => Assert.InRange(p, 1, 65535));
    }
}
