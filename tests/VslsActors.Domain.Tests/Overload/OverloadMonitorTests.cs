using CsCheck;
using VslsActors.Domain.Overload;

namespace VslsActors.Domain.Tests.Overload;

public sealed class OverloadMonitorTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    private static readonly OverloadThresholds Thresholds = new(
        EnterLatency: TimeSpan.FromMilliseconds(200),
        ExitLatency: TimeSpan.FromMilliseconds(50),
        EnterQueue: 2000,
        ExitQueue: 500,
        EnterHold: TimeSpan.FromSeconds(1),
        EscalateHold: TimeSpan.FromSeconds(2),
        ExitHold: TimeSpan.FromSeconds(1));

    private static readonly VsTickLoad[] NoVs = [];

    /// <summary>Feeds <paramref name="count"/> samples one tick apart from <paramref name="at"/>; returns the changes.</summary>
    private static List<OverloadChange> Feed(OverloadMonitor monitor, ref TimeSpan at, int count, double latencyMs, long queued = 0)
    {
        var changes = new List<OverloadChange>();
        for (var i = 0; i < count; i++)
        {
            at += Tick;
            if (monitor.Observe(new OverloadSample(at, TimeSpan.FromMilliseconds(latencyMs), queued, NoVs)) is { } c)
                changes.Add(c);
        }
        return changes;
    }

    [Fact]
    public void A_lasting_overload_sheds_over_share_first_and_everybody_only_after_the_escalate_hold()
    {
        var monitor = new OverloadMonitor(Thresholds);
        var at = TimeSpan.Zero;
        // The first overloaded sample starts the clock; 1 s later (4 ticks) level 1.
        Assert.Empty(Feed(monitor, ref at, 4, 300));
        var first = Assert.Single(Feed(monitor, ref at, 1, 300));
        Assert.Equal((OverloadLevel.Normal, OverloadLevel.ShedOverShare, "latency 300 ms > 200 ms"), (first.From, first.To, first.Reason));
        // 2 s more at level 1 (8 ticks) before level 2.
        Assert.Empty(Feed(monitor, ref at, 7, 300));
        var second = Assert.Single(Feed(monitor, ref at, 1, 100, queued: 2500));
        Assert.Equal((OverloadLevel.ShedOverShare, OverloadLevel.ShedAllNew, "queued 2500 > 2000"), (second.From, second.To, second.Reason));
        Assert.Empty(Feed(monitor, ref at, 40, 300));
        Assert.Equal(OverloadLevel.ShedAllNew, monitor.Level);
    }

    [Fact]
    public void One_calm_or_in_between_sample_restarts_the_hold()
    {
        var monitor = new OverloadMonitor(Thresholds);
        var at = TimeSpan.Zero;
        for (var round = 0; round < 20; round++)
        {
            Assert.Empty(Feed(monitor, ref at, 4, 300));
            Assert.Empty(Feed(monitor, ref at, 1, round % 2 == 0 ? 100 : 10)); // in between, or calm
        }
        Assert.Equal(OverloadLevel.Normal, monitor.Level);
    }

    [Fact]
    public void Between_the_exit_and_enter_thresholds_the_level_neither_rises_nor_falls()
    {
        var monitor = new OverloadMonitor(Thresholds);
        var at = TimeSpan.Zero;
        Feed(monitor, ref at, 5, 300);
        Assert.Equal(OverloadLevel.ShedOverShare, monitor.Level);
        // Latency 100 ms and 1000 queued: not overloaded (≤ 200 ms, ≤ 2000) and not calm (> 50 ms, > 500).
        Assert.Empty(Feed(monitor, ref at, 100, 100, queued: 1000));
        Assert.Empty(Feed(monitor, ref at, 100, 10, queued: 1000));
        Assert.Equal(OverloadLevel.ShedOverShare, monitor.Level);
    }

    [Fact]
    public void After_the_load_drops_it_recovers_one_level_per_exit_hold_down_to_normal()
    {
        var monitor = new OverloadMonitor(Thresholds);
        var at = TimeSpan.Zero;
        Feed(monitor, ref at, 20, 300);
        Assert.Equal(OverloadLevel.ShedAllNew, monitor.Level);
        var changes = Feed(monitor, ref at, 20, 0);
        Assert.Equal([(OverloadLevel.ShedAllNew, OverloadLevel.ShedOverShare), (OverloadLevel.ShedOverShare, OverloadLevel.Normal)],
            changes.Select(c => (c.From, c.To)));
        Assert.Equal("latency 0 ms ≤ 50 ms and queued 0 ≤ 500 for 1000 ms", changes[1].Reason);
        Assert.Equal(OverloadLevel.Normal, monitor.Level);
    }

    [Fact]
    public void Zero_holds_follow_every_sample_but_still_one_level_at_a_time()
    {
        var monitor = new OverloadMonitor(Thresholds with { EnterHold = TimeSpan.Zero, EscalateHold = TimeSpan.Zero, ExitHold = TimeSpan.Zero });
        var at = TimeSpan.Zero;
        Assert.Equal(OverloadLevel.ShedOverShare, Assert.Single(Feed(monitor, ref at, 1, 300)).To);
        Assert.Equal(OverloadLevel.ShedAllNew, Assert.Single(Feed(monitor, ref at, 1, 300)).To);
        Assert.Equal(OverloadLevel.ShedOverShare, Assert.Single(Feed(monitor, ref at, 1, 0)).To);
    }

    /// <summary>A sample's measures: overloaded, in between or calm for <see cref="Thresholds"/>.</summary>
    private static readonly Gen<(double LatencyMs, long Queued)> GenMeasure = Gen.OneOf(
        Gen.Select(Gen.Double[200.001, 1000], Gen.Long[0, 3000]),
        Gen.Select(Gen.Double[0, 1000], Gen.Long[2001, 5000]),
        Gen.Select(Gen.Double[50.001, 200], Gen.Long[0, 2000]),
        Gen.Select(Gen.Double[0, 50], Gen.Long[0, 500]));

    [Fact]
    public void The_level_moves_one_step_at_a_time_only_after_a_hold_of_matching_samples_so_it_never_flaps()
    {
        Gen.Select(GenMeasure, Gen.Int[1, 3]).Array[1, 300].Sample(run =>
        {
            var monitor = new OverloadMonitor(Thresholds);
            var at = TimeSpan.Zero;
            var level = OverloadLevel.Normal;
            var lastChange = TimeSpan.Zero;
            TimeSpan? overloadedSince = null, calmSince = null;
            foreach (var ((latencyMs, queued), ticks) in run)
            {
                at += Tick * ticks;
                var overloaded = latencyMs > 200 || queued > 2000;
                var calm = latencyMs <= 50 && queued <= 500;
                overloadedSince = overloaded ? overloadedSince ?? at : null;
                calmSince = calm ? calmSince ?? at : null;
                var change = monitor.Observe(new OverloadSample(at, TimeSpan.FromMilliseconds(latencyMs), queued, NoVs));
                if (change is null)
                {
                    if (monitor.Level != level)
                        return false;
                    continue;
                }
                // One step, in the direction of the sample, after the sample's kind lasted the hold since
                // the run began or the last change (whichever is later).
                var up = change.To == change.From + 1;
                var down = change.To == change.From - 1;
                var runStart = up ? overloadedSince : calmSince;
                if (change.From != level || !(up && overloaded || down && calm) || runStart is null)
                    return false;
                var hold = up ? (level == OverloadLevel.Normal ? Thresholds.EnterHold : Thresholds.EscalateHold) : Thresholds.ExitHold;
                var start = runStart.Value > lastChange ? runStart.Value : lastChange;
                if (at - start < hold)
                    return false;
                level = change.To;
                lastChange = at;
            }
            return true;
        });
    }

    [Fact]
    public void Only_vss_whose_share_of_the_new_connections_exceeds_their_weight_share_are_over_share()
    {
        VsId V(int n) => new(n);
        // Weights 1:1:2 = 25 % : 25 % : 50 %; new connections 60 : 10 : 30.
        Assert.Equal(new[] { V(1) }, OverloadMonitor.OverShareOf([new(V(1), 1, 60), new(V(2), 1, 10), new(V(3), 2, 30)]).ToArray());
        // Exactly at its weight share is not over (a tie).
        Assert.Empty(OverloadMonitor.OverShareOf([new(V(1), 1, 25), new(V(2), 1, 25), new(V(3), 2, 50)]));
        // A VS alone on its member has all the load and all the weight.
        Assert.Empty(OverloadMonitor.OverShareOf([new(V(4), 5, 1_000_000)]));
        // Nobody tried to open a connection.
        Assert.Empty(OverloadMonitor.OverShareOf([new(V(1), 1, 0), new(V(2), 3, 0)]));
        Assert.Empty(OverloadMonitor.OverShareOf([]));
        // Sorted by id whatever the input order.
        Assert.Equal(new[] { V(2), V(7) }, OverloadMonitor.OverShareOf([new(V(7), 1, 40), new(V(9), 10, 10), new(V(2), 1, 40)]).ToArray());
    }

    [Fact]
    public void Some_vs_is_always_within_its_share_so_level_one_never_sheds_everybody()
    {
        Gen.Select(Gen.Int[1, 1_000_000], Gen.Long[0, 10_000_000_000]).Array[1, 20].Sample(loads =>
        {
            var vss = loads.Select((l, i) => new VsTickLoad(new VsId(i + 1), l.Item1, l.Item2)).ToArray();
            var over = OverloadMonitor.OverShareOf(vss);
            return over.Length < vss.Length && over.All(v => vss.Any(x => x.Vs == v && x.NewConnections > 0));
        });
    }

    [Theory]
    [InlineData(50, 60, 2000, 500, "exit-latency: must be ≤ enter-latency (60 ms > 50 ms)")]
    [InlineData(200, 50, 2000, 3000, "exit-queue: must be ≤ enter-queue (3000 > 2000)")]
    [InlineData(200, 50, 2000, -1, "exit-queue: must be ≥ 0 (got -1)")]
    public void Unusable_thresholds_are_refused_naming_the_key(int enterMs, int exitMs, long enterQueue, long exitQueue, string expected)
    {
        var t = Thresholds with { EnterLatency = TimeSpan.FromMilliseconds(enterMs), ExitLatency = TimeSpan.FromMilliseconds(exitMs), EnterQueue = enterQueue, ExitQueue = exitQueue };
        Assert.Equal(expected, t.Problem());
        Assert.Null(OverloadThresholds.Default.Problem());
        var refused = Assert.Throws<ArgumentException>(() => new OverloadMonitor(t));
        Assert.StartsWith("vsls.overload: " + expected, refused.Message, StringComparison.Ordinal);
    }
}
