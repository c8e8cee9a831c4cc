using Akka.Actor;
using VslsActors.Cli.Demo;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain.Topology;

namespace VslsActors.Cli.Tests;

/// <summary>
/// The demo's traffic phase against a stand-in for the <c>virtual-system</c> region (one local actor
/// that accepts everything), so that pacing, back-pressure, tallies and the report are checked
/// without a cluster.
/// </summary>
public sealed class DemoDriveTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("demo-drive-test", "akka.loglevel = WARNING");

    /// <summary>Answers like a VS on member-1 that accepts every packet.</summary>
    private sealed class AcceptingRegion : ReceiveActor
    {
        public AcceptingRegion()
        {
            Receive<VirtualSystemCommands.ProcessPackets>(m =>
                Sender.Tell(new VirtualSystemReplies.PacketVerdicts(m.VsId, "member-1", new VerdictCounts(m.Packets.Length, 0, 0, 0, 0))));
            Receive<VirtualSystemQueries.GetStatus>(m =>
                Sender.Tell(new VirtualSystemReplies.Status(m.VsId, "member-1", 7, 7, VerdictCounts.Zero, 0, 0, 0, 0)));
        }
    }

    [Fact]
    public async Task Traffic_runs_at_the_asked_rate_and_every_packet_is_answered_and_reported()
    {
        var topology = TopologyLoader.Parse(SampleTopology.Text(), "sample");
        var region = _system.ActorOf(Props.Create(() => new AcceptingRegion()));
        var progress = new StringWriter();
        var runner = new DemoRunner(new DemoOptions { Duration = TimeSpan.FromSeconds(2), NoFailover = true, Rate = 5_000, Connections = 300 }, new StringWriter(), progress);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var report = await runner.DriveAsync(region, topology, ["member-1"], [4053], cts.Token);

        // 2 s at 5,000 packets/s, plus a scheduling tick: the pacer must never run ahead of the asked
        // rate. No lower bound: how much a starved machine (2 shared cores, parallel test projects)
        // manages to send in 2 s is speed, which belongs in benchmarks, not in a test.
        Assert.InRange(report.PacketsSent, 1, 10_500);
        Assert.Equal(report.PacketsSent, report.PacketsAccepted);
        Assert.Equal(0, report.PacketsUnanswered);
        Assert.Equal(12, report.VirtualSystems.Count);
        Assert.All(report.VirtualSystems, v => Assert.Equal("member-1", v.MemberAfter));
        Assert.All(report.VirtualSystems, v => Assert.Equal(7, v.Connections));
        Assert.Equal(12, Assert.Single(report.Members).ActiveVirtualSystemsAfter);
        Assert.False(report.Failover);
        Assert.Empty(report.FailoverGapMs);
        Assert.True(report.ConnectionsOpened > 0);
        Assert.InRange(report.ThroughputPps, 1, 5_250);
        Assert.Contains("member-1 up: 12 VSs", progress.ToString());
    }

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));
}
