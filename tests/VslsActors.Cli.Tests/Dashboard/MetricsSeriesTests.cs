using System.Diagnostics.Metrics;
using Akka.Actor;
using Akka.Hosting;
using VslsActors.Cli.Tests.Ctl;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Placement;
using VslsActors.Node.Web;

namespace VslsActors.Cli.Tests.Dashboard;

/// <summary>
/// The shape of the metrics for a given sample, read with a MeterListener: the optional Status fields
/// (checkpoint age and size, journal lag) give series when a VS reports them and none when it does not.
/// </summary>
public sealed class MetricsSeriesTests : IDisposable
{
    private readonly ActorSystem _system = ActorSystem.Create("metrics-series", "akka.loglevel = WARNING");

    public void Dispose() => _system.Dispose();

    private static VirtualSystemReplies.Status Status(int vs, long? checkpointAt, int? checkpointConnections, long? lag) =>
        new(new VsId(vs), "member-2", 7, 7, new VerdictCounts(10, 2, 1, 3, 0), 40, 2, 0, 0, checkpointAt, checkpointConnections, lag);

    private static Dictionary<(string Instrument, string Vs), double> Observe(ManagementMetrics metrics)
    {
        var seen = new Dictionary<(string, string), double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == metrics.MeterName)
                l.EnableMeasurementEvents(instrument);
        };
        void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var vs = "";
            foreach (var t in tags)
            {
                if (t.Key is "vs" or "member" && vs.Length == 0)
                    vs = t.Value?.ToString() ?? "";
            }
            seen[(instrument.Name, vs)] = seen.GetValueOrDefault((instrument.Name, vs)) + Convert.ToDouble(value);
        }
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public void Checkpoint_and_journal_lag_series_appear_only_for_a_vs_that_reports_them()
    {
        var options = new VslsClusterOptions { Member = new MemberName("member-2"), Topology = ManagedCluster.Topology };
        var context = new ManagementContext(new ManagementOptions().WithTokens(ManagedCluster.Tokens), options, _system, new ActorRegistry());
        using var metrics = new ManagementMetrics(context, ManagementMetrics.AllocateMeterName());
        var now = DateTime.UtcNow.Ticks;
        metrics.Publish(new ManagementMetrics.Sample(
            [
                new(new VsId(1), "reports", Status(1, now - TimeSpan.FromSeconds(42).Ticks, 1234, 17)),
                new(new VsId(2), "silent", Status(2, null, null, null)),
                new(new VsId(3), "no-answer", null),
            ],
            [new(new MemberName("member-2"), MemberState.Up, 2, 25, 3, 1)],
            now));

        var seen = Observe(metrics);

        Assert.Equal(42, seen[("vsls.vs.checkpoint.age", "1")], 3);
        Assert.Equal(1234, seen[("vsls.vs.checkpoint.connections", "1")]);
        Assert.Equal(17, seen[("vsls.vs.journal.lag", "1")]);
        foreach (var name in new[] { "vsls.vs.checkpoint.age", "vsls.vs.checkpoint.connections", "vsls.vs.journal.lag" })
        {
            Assert.False(seen.ContainsKey((name, "2")), $"{name} for a VS that does not report it");
            Assert.False(seen.ContainsKey((name, "3")), $"{name} for a VS that did not answer");
        }
        Assert.Equal(16, seen[("vsls.vs.packets", "2")]);
        Assert.Equal(16, seen[("vsls.vs.verdicts", "2")]);
        Assert.Equal(1, seen[("vsls.vs.up", "1")]);
        Assert.Equal(0, seen[("vsls.vs.up", "3")]);
        Assert.False(seen.ContainsKey(("vsls.vs.packets", "3")));
        Assert.Equal(2, seen[("vsls.member.active_vs", "member-2")]);
        Assert.Equal(25, seen[("vsls.member.weighted_load", "member-2")]);
        Assert.Equal(3, seen[("vsls.member.failovers", "member-2")]);
    }
}
