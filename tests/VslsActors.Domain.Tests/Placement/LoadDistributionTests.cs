using System.Collections.Immutable;
using CsCheck;
using Xunit.Abstractions;

namespace VslsActors.Domain.Tests.Placement;

using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;
using static PlacementTestData;

/// <summary><c>dist equal --by load</c> and <c>dist advise --by load</c> in the domain: measured load in place of weights.</summary>
public sealed class LoadDistributionTests(ITestOutputHelper output)
{
    private const long Iterations = 300;

    /// <summary>Members, and VSs with weights and measured loads: most loads small, a few very large (skewed, as traffic is).</summary>
    private static readonly Gen<(ImmutableArray<MemberName> Members, (VsId Vs, int Weight, double Load)[] Vss, int Seed)> Skewed =
        Gen.Select(Gen.Int[1, 8], Gen.Int[0, 80], Gen.Int[0, int.MaxValue]).Select((n, v, seed) =>
        {
            var rnd = new Random(seed);
            var vss = Enumerable.Range(1, v)
                .Select(i => (new VsId(i), rnd.Next(1, 51), rnd.Next(8) == 0 ? rnd.NextDouble() * 5000 : Math.Round(rnd.NextDouble() * 20, 3)))
                .ToArray();
            return (Members(n), vss, seed);
        });

    private static (double Active, double Standby) Spreads(IReadOnlyList<VsPriority> lists, IReadOnlyList<MemberName> members, IReadOnlyDictionary<VsId, double> loads)
    {
        var active = new double[members.Count];
        var standby = new double[members.Count];
        foreach (var l in lists)
        {
            active[members.ToList().IndexOf(l.Members[0])] += loads[l.Vs];
            if (l.Members.Length > 1)
                standby[members.ToList().IndexOf(l.Members[1])] += loads[l.Vs];
        }
        return (active.Max() - active.Min(), members.Count > 1 ? standby.Max() - standby.Min() : 0);
    }

    [Fact]
    public void Equal_by_load_keeps_the_measured_load_of_any_two_members_within_the_largest_vs_load()
    {
        Skewed.Sample(c =>
        {
            var lists = Distribution.EqualByLoad(c.Members, c.Vss);
            var loads = c.Vss.ToDictionary(v => v.Vs, v => v.Load);
            var max = c.Vss.Length == 0 ? 0 : c.Vss.Max(v => v.Load);
            // Sums of doubles round; the bound is exact up to that rounding.
            var slack = 1e-9 * (1 + c.Vss.Sum(v => v.Load));
            var (active, standby) = Spreads(lists, c.Members, loads);
            Assert.True(active <= max + slack, $"active spread {active} > largest load {max}");
            Assert.True(standby <= max + slack, $"standby spread {standby} > largest load {max}");
            Assert.Equal(c.Vss.Select(v => v.Vs).Order(), lists.Select(l => l.Vs));
            foreach (var l in lists)
            {
                Assert.Equal(c.Members.Order(), l.Members.Order());
                // The configured weight is carried, never replaced by the measurement.
                Assert.Equal(c.Vss.Single(v => v.Vs == l.Vs).Weight, l.Weight);
            }
        }, iter: Iterations);
    }

    [Fact]
    public void Equal_by_load_is_deterministic_whatever_the_order_the_vss_come_in()
    {
        Skewed.Sample(c =>
        {
            var shuffled = c.Vss.ToArray();
            new Random(c.Seed).Shuffle(shuffled);
            Assert.Equal(Distribution.EqualByLoad(c.Members, c.Vss).AsEnumerable(), Distribution.EqualByLoad(c.Members, shuffled).AsEnumerable());
        }, iter: Iterations);
    }

    [Fact]
    public void Equal_by_load_with_each_load_equal_to_the_weight_is_equal_by_weight()
    {
        Skewed.Sample(c =>
        {
            var byWeight = Distribution.Equal(c.Members, [.. c.Vss.Select(v => (v.Vs, v.Weight))]);
            var byLoad = Distribution.EqualByLoad(c.Members, [.. c.Vss.Select(v => (v.Vs, v.Weight, (double)v.Weight))]);
            // As sequences: ImmutableArray's own Equals compares the underlying array by reference.
            Assert.Equal(byWeight.AsEnumerable(), byLoad.AsEnumerable());
        }, iter: Iterations);
    }

    [Fact]
    public void Equal_by_load_follows_the_load_not_the_weight()
    {
        // By weight VS 3 (30) is alone and VS 1 and 2 (10 each) share the other member; measured, VS 1 and 2 carry nearly everything.
        var members = Members(2);
        var byWeight = Distribution.Equal(members, [(new VsId(1), 10), (new VsId(2), 10), (new VsId(3), 30)]);
        Assert.Equal(byWeight[0].Members[0], byWeight[1].Members[0]);

        var loads = new Dictionary<VsId, double> { [new VsId(1)] = 40, [new VsId(2)] = 39, [new VsId(3)] = 1 };
        var byLoad = Distribution.EqualByLoad(members, [(new VsId(1), 10, 40.0), (new VsId(2), 10, 39.0), (new VsId(3), 30, 1.0)]);

        Assert.NotEqual(byLoad[0].Members[0], byLoad[1].Members[0]);
        Assert.Equal([40.0, 40.0], Distribution.ActiveLoads(byLoad, members, loads));
        Assert.Equal([1.0, 79.0], Distribution.ActiveLoads(byWeight, members, loads));
    }

    [Fact]
    public void Equal_by_load_refuses_a_load_that_is_not_a_non_negative_number_naming_the_vs()
    {
        foreach (var bad in new[] { -1.0, double.NaN, double.PositiveInfinity })
        {
            var e = Assert.Throws<ArgumentException>(() => Distribution.EqualByLoad(Members(2), [(new VsId(3), 10, 1.0), (new VsId(9), 10, bad)]));
            Assert.StartsWith("virtual system 9 has load", e.Message);
        }
    }

    /// <summary>
    /// Advise by load against equal by load on the same measured loads, all members Up, manual random
    /// lists: advise reaches its tolerance (the largest load of a VS) with no more Active moves than
    /// rewriting every list by load would make.
    /// </summary>
    [Fact]
    public void Advise_by_load_reaches_its_tolerance_moving_no_more_vss_than_equal_by_load()
    {
        Gen.Select(Scenario.Gen(maxVss: 120, mode: DistributionMode.Manual), Gen.Int[0, int.MaxValue]).Sample((s, seed) =>
        {
            var rnd = new Random(seed);
            var loads = s.Topology.VirtualSystems.ToDictionary(v => v.Id, _ => rnd.Next(6) == 0 ? Math.Round(rnd.NextDouble() * 400, 3) : Math.Round(rnd.NextDouble() * 10, 3) + MeasuredLoad.Floor);
            var all = AllUp(s.Topology.Members);
            var current = PlacementCalculator.Compute(s.Topology, all, null);
            var advice = Advisor.Advise(s.Topology, all, current, loads);
            var (equalMoves, equalSpread) = EqualByLoadFigures(s.Topology, current, loads);
            Assert.True(advice.SpreadAfter <= advice.Tolerance + 1e-9, $"spread {advice.SpreadAfter} > tolerance {advice.Tolerance}");
            Assert.True(advice.SpreadAfter <= advice.SpreadBefore);
            Assert.True(advice.ActiveMoves <= equalMoves, $"advice moves {advice.ActiveMoves} > equal by load moves {equalMoves} (spread {equalSpread})");
        }, iter: Iterations);
    }

    /// <summary>
    /// Figures for a full-size cluster by load: 13 members, 250 VSs, one VS in ten carrying 100–1000× the
    /// load of the rest, random manual lists, all Up. Printed by this test (seeds 1–5) for docs/load-distribution.md.
    /// </summary>
    [Fact]
    public void On_a_full_size_cluster_by_load_the_advice_moves_far_fewer_vss_than_equal_by_load()
    {
        output.WriteLine("seed spread-now  advice: moves spread-after tolerance   equal: moves spread");
        for (var seed = 1; seed <= 5; seed++)
        {
            var s = Scenario.Build(13, 250, seed, DistributionMode.Manual, FailbackMode.PrimaryUp);
            var rnd = new Random(seed);
            var loads = s.Topology.VirtualSystems.ToDictionary(v => v.Id, _ => rnd.Next(10) == 0 ? 100 + rnd.Next(900) : 0.5 + rnd.Next(5));
            var all = AllUp(s.Topology.Members);
            var current = PlacementCalculator.Compute(s.Topology, all, null);
            var advice = Advisor.Advise(s.Topology, all, current, loads.ToDictionary(p => p.Key, p => (double)p.Value));
            var (moves, spread) = EqualByLoadFigures(s.Topology, current, loads.ToDictionary(p => p.Key, p => (double)p.Value));
            output.WriteLine($"{seed,4} {advice.SpreadBefore,9:0.0} {advice.ActiveMoves,14} {advice.SpreadAfter,12:0.0} {advice.Tolerance,9:0.0} {moves,14} {spread,6:0.0}");
            Assert.True(advice.SpreadAfter <= advice.Tolerance);
            Assert.True(advice.ActiveMoves * 3 < moves, $"advice moves {advice.ActiveMoves}, equal by load moves {moves}");
        }
    }

    private static (int Moves, double Spread) EqualByLoadFigures(Topology topology, Placement current, IReadOnlyDictionary<VsId, double> loads)
    {
        var lists = Distribution.EqualByLoad(topology.Members, [.. topology.VirtualSystems.Select(v => (v.Id, v.Weight, loads[v.Id]))]);
        var moves = lists.Count(l => current.Find(l.Vs)!.Active != l.Members[0]);
        var perMember = Distribution.ActiveLoads(lists, topology.Members, loads);
        return (moves, perMember.Max() - perMember.Min());
    }
}

/// <summary>The VS-side window and the load formula.</summary>
public sealed class MeasuredLoadTests
{
    private static readonly long T0 = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private static long At(double seconds) => T0 + TimeSpan.FromSeconds(seconds).Ticks;

    [Fact]
    public void A_window_reports_nothing_until_it_has_two_samples()
    {
        var w = new LoadWindow(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
        Assert.Null(w.Current());
        w.Record(At(0), 100, 3);
        Assert.Null(w.Current());
        w.Record(At(1), 150, 5);
        Assert.Equal(new LoadFigures(TimeSpan.FromSeconds(1).Ticks, 50, 4), w.Current());
        Assert.Equal(50, w.Current()!.PacketsPerSecond);
    }

    [Fact]
    public void A_window_covers_only_the_last_window_length_of_samples()
    {
        var w = new LoadWindow(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
        // 1000 packets/s for 20 s, then 10 packets/s for 10 s: the window sees only the quiet part.
        long total = 0;
        for (var s = 0; s <= 20; s++)
        {
            w.Record(At(s), total, 100);
            total += 1000;
        }
        total -= 1000;
        for (var s = 21; s <= 30; s++)
        {
            total += 10;
            w.Record(At(s), total, 2);
        }
        var f = w.Current()!;
        Assert.Equal(TimeSpan.FromSeconds(10).Ticks, f.WindowTicks);
        Assert.Equal(100, f.Packets);
        Assert.Equal(10, f.PacketsPerSecond);
        // Samples at 20 s (100 connections) and 21–30 s (2 each): mean (100 + 20) / 11, rounded.
        Assert.Equal(11, f.MeanConnections);
    }

    [Fact]
    public void A_window_with_late_ticks_still_spans_at_most_its_length()
    {
        var w = new LoadWindow(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
        // Sweep ticks arrive late under load: samples 3 s apart, so fewer than the ring holds fit the window.
        for (var s = 0; s <= 30; s += 3)
            w.Record(At(s), s * 10L, 0);
        var f = w.Current()!;
        Assert.Equal(TimeSpan.FromSeconds(9).Ticks, f.WindowTicks);
        Assert.Equal(90, f.Packets);
    }

    [Fact]
    public void Counters_that_restart_give_no_window_across_the_restart()
    {
        var w = new LoadWindow(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
        w.Record(At(0), 5000, 0);
        w.Record(At(1), 10, 0);
        Assert.Null(w.Current());
    }

    [Fact]
    public void A_window_shorter_than_its_interval_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new LoadWindow(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)));
        Assert.Throws<ArgumentException>(() => new LoadWindow(TimeSpan.Zero, TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Load_is_half_the_share_of_packets_and_half_the_share_of_connections_with_a_floor()
    {
        var loads = MeasuredLoad.TryCompute(
        [
            new VsTraffic(new VsId(1), 900, 10),
            new VsTraffic(new VsId(2), 100, 30),
            new VsTraffic(new VsId(3), 0, 0),
        ], out var problem)!;
        Assert.Null(problem);
        // 50 × 900/1000 + 50 × 10/40, and 50 × 100/1000 + 50 × 30/40.
        Assert.Equal(57.5, loads[new VsId(1)]);
        Assert.Equal(42.5, loads[new VsId(2)]);
        Assert.Equal(MeasuredLoad.Floor, loads[new VsId(3)]);
    }

    [Fact]
    public void Without_connections_packets_per_second_count_alone()
    {
        var loads = MeasuredLoad.TryCompute([new VsTraffic(new VsId(1), 300, 0), new VsTraffic(new VsId(2), 100, 0)], out _)!;
        Assert.Equal(75, loads[new VsId(1)]);
        Assert.Equal(25, loads[new VsId(2)]);
    }

    [Fact]
    public void No_packet_measured_anywhere_gives_no_loads_and_says_why()
    {
        Assert.Null(MeasuredLoad.TryCompute([new VsTraffic(new VsId(1), 0, 4), new VsTraffic(new VsId(2), 0, 0)], out var problem));
        Assert.StartsWith("no traffic measured yet", problem);
        Assert.Null(MeasuredLoad.TryCompute([], out _));
    }
}
