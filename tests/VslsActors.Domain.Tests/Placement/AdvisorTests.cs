using CsCheck;
using Xunit.Abstractions;

namespace VslsActors.Domain.Tests.Placement;

using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;
using static PlacementTestData;

public sealed class AdvisorTests(ITestOutputHelper output)
{
    private const long Iterations = 300;

    private static Placement Current(Topology t, IReadOnlyDictionary<MemberName, MemberState> states) =>
        PlacementCalculator.Compute(t, states, null);

    [Fact]
    public void Four_equal_vss_on_one_of_two_members_move_two_and_the_old_active_becomes_standby()
    {
        var members = Members(2);
        var t = Topology(members, [Vs(1, 10, M(1), M(2)), Vs(2, 10, M(1), M(2)), Vs(3, 10, M(1), M(2)), Vs(4, 10, M(1), M(2))]);
        var states = AllUp(members);

        var advice = Advisor.Advise(t, states, Current(t, states));

        Assert.Equal(40, advice.SpreadBefore);
        Assert.Equal(0, advice.SpreadAfter);
        Assert.Equal(10, advice.Tolerance);
        Assert.Equal(2, advice.ActiveMoves);
        Assert.Equal([40.0, 0.0], advice.Before.Select(s => s.Load));
        Assert.Equal([100.0, 0.0], advice.Before.Select(s => s.Percent));
        Assert.Equal([20.0, 20.0], advice.After.Select(s => s.Load));
        Assert.All(advice.Changes, c =>
        {
            Assert.Equal([M(2), M(1)], c.NewList.ToArray());
            Assert.Equal(M(1), c.OldActive);
            Assert.Equal(M(2), c.OldStandby);
            Assert.Equal(M(1), c.NewStandby);
            Assert.True(c.StandbyMoves);
        });
    }

    [Fact]
    public void A_balanced_cluster_gets_no_change()
    {
        var members = Members(3);
        var t = Topology(members, [Vs(1, 10, M(1)), Vs(2, 10, M(2)), Vs(3, 10, M(3)), Vs(4, 5, M(1))]);
        var states = AllUp(members);

        var advice = Advisor.Advise(t, states, Current(t, states));

        Assert.True(advice.Balanced);
        Assert.Empty(advice.Changes);
        Assert.Equal(5, advice.SpreadBefore);
        Assert.Equal(advice.SpreadBefore, advice.SpreadAfter);
    }

    [Fact]
    public void The_new_list_puts_the_target_first_the_old_active_second_and_keeps_the_rest_in_order()
    {
        var members = Members(4);
        var t = Topology(members, [Vs(1, 30, M(1), M(3), M(4), M(2)), Vs(2, 10, M(2)), Vs(3, 10, M(3)), Vs(4, 10, M(4)), Vs(5, 30, M(1), M(4), M(3), M(2))]);
        var states = AllUp(members);

        var advice = Advisor.Advise(t, states, Current(t, states), tolerance: 35);

        // member-1 carries 60, the others 10: one 30 to member-2 (the first least loaded) gives
        // 30/40/10/10, within the tolerance; a second move would only be needed below 30.
        var change = Assert.Single(advice.Changes);
        Assert.Equal(new VsId(1), change.Vs);
        Assert.Equal([M(1), M(3), M(4), M(2)], change.OldList.ToArray());
        Assert.Equal([M(2), M(1), M(3), M(4)], change.NewList.ToArray());
        Assert.Equal(M(3), change.OldStandby);
        Assert.Equal(30, advice.SpreadAfter);
    }

    [Fact]
    public void Draining_and_down_members_are_neither_sources_nor_targets_of_a_move()
    {
        var members = Members(4);
        var t = Topology(members,
        [
            Vs(1, 10, M(1), M(2)), Vs(2, 10, M(1), M(2)), Vs(3, 10, M(1), M(2)), Vs(4, 10, M(1), M(2)),
            Vs(5, 10, M(3), M(1)),
        ]);
        var states = States(MemberState.Up, MemberState.Up, MemberState.Draining, MemberState.Down);

        var advice = Advisor.Advise(t, states, Current(t, states));

        // member-3 is draining: VS 5 already left it for member-1 (50 vs 0).
        Assert.Equal(50, advice.SpreadBefore);
        Assert.All(advice.Changes, c => Assert.Equal(M(2), c.NewActive));
        Assert.Equal(0.0, advice.After.Single(s => s.Member == M(3)).Load);
        Assert.Equal(0.0, advice.After.Single(s => s.Member == M(4)).Load);
        Assert.Equal(10, advice.SpreadAfter);
    }

    [Fact]
    public void By_load_the_measured_rates_decide_not_the_weights()
    {
        var members = Members(2);
        var t = Topology(members, [Vs(1, 10, M(1), M(2)), Vs(2, 10, M(1), M(2)), Vs(3, 10, M(2), M(1)), Vs(4, 10, M(2), M(1))]);
        var states = AllUp(members);
        var current = Current(t, states);
        Assert.Empty(Advisor.Advise(t, states, current).Changes);

        // VS 1 and 2 are busy (packets/s); 3 and 4 idle; VS 4 not measured at all counts as 0.
        var pps = new Dictionary<VsId, double> { [new VsId(1)] = 9000, [new VsId(2)] = 8000, [new VsId(3)] = 100 };
        var advice = Advisor.Advise(t, states, current, pps);

        var change = Assert.Single(advice.Changes);
        Assert.Equal(new VsId(2), change.Vs);
        Assert.Equal(17000 - 100, advice.SpreadBefore);
        Assert.Equal(9000 - 8100, advice.SpreadAfter);
    }

    [Fact]
    public void A_negative_load_is_refused_naming_the_vs()
    {
        var members = Members(2);
        var t = Topology(members, [Vs(1, 10, M(1)), Vs(7, 10, M(2))]);
        var states = AllUp(members);
        var e = Assert.Throws<ArgumentException>(() =>
            Advisor.Advise(t, states, Current(t, states), new Dictionary<VsId, double> { [new VsId(7)] = -1 }));
        Assert.StartsWith("virtual system 7 has load -1; a load is a non-negative number", e.Message);
    }

    [Fact]
    public void The_spread_never_grows_and_each_vs_moves_at_most_once()
    {
        Gen.Select(Scenario.Gen(maxVss: 120), Gen.Double[0, 60], Gen.Bool).Sample((s, t, useDefault) =>
        {
            var advice = Advisor.Advise(s.Topology, s.States, Current(s.Topology, s.States), tolerance: useDefault ? null : t);
            Assert.True(advice.SpreadAfter <= advice.SpreadBefore, $"{advice.SpreadBefore} -> {advice.SpreadAfter}");
            Assert.True(advice.ActiveMoves <= s.Topology.VirtualSystems.Length);
            Assert.Equal(advice.Changes.Length, advice.Changes.Select(c => c.Vs).Distinct().Count());
            Assert.All(advice.Changes, c => Assert.True(c.ActiveMoves && c.OldActive != c.NewActive));
        }, iter: Iterations);
    }

    [Fact]
    public void Applying_the_advice_and_placing_again_gives_exactly_the_predicted_loads()
    {
        // Integer-valued loads keep double sums exact, so "exactly" can be asserted.
        var gen = Gen.Select(Scenario.Gen(maxVss: 120), Gen.Bool, Gen.Int[0, int.MaxValue]);
        gen.Sample((s, byLoad, seed) =>
        {
            var rnd = new Random(seed);
            var loads = byLoad
                ? s.Topology.VirtualSystems.Where(_ => rnd.Next(10) > 0).ToDictionary(v => v.Id, _ => (double)rnd.Next(0, 5000))
                : null;
            var current = Current(s.Topology, s.States);
            var advice = Advisor.Advise(s.Topology, s.States, current, loads);

            var applied = advice.ApplyTo(s.Topology);
            var placed = PlacementCalculator.Compute(applied, s.States, advice.Moved(current));
            foreach (var share in advice.After)
            {
                var actual = placed.Vss.Where(p => p.Active == share.Member)
                    .Sum(p => loads is null ? p.Weight : loads.GetValueOrDefault(p.Vs));
                Assert.Equal(share.Load, actual);
            }
            foreach (var c in advice.Changes)
            {
                var p = placed.Find(c.Vs)!;
                Assert.Equal(c.NewActive, p.Active);
                Assert.Equal(c.NewStandby, p.Standby);
            }
            // Nothing else moves.
            foreach (var p in placed.Vss)
            {
                if (!advice.Changes.Any(c => c.Vs == p.Vs))
                    Assert.Equal(current.Find(p.Vs)!.Active, p.Active);
            }
        }, iter: Iterations);
    }

    [Fact]
    public void Within_tolerance_already_means_no_change()
    {
        Scenario.Gen(maxVss: 120).Sample(s =>
        {
            var current = Current(s.Topology, s.States);
            var first = Advisor.Advise(s.Topology, s.States, current);
            if (first.Balanced)
                Assert.Empty(first.Changes);
            // The advised state is balanced by its own measure when the greedy reached the goal.
            var applied = first.ApplyTo(s.Topology);
            var again = Advisor.Advise(applied, s.States, PlacementCalculator.Compute(applied, s.States, first.Moved(current)), tolerance: first.Tolerance);
            if (first.SpreadAfter <= first.Tolerance)
                Assert.Empty(again.Changes);
        }, iter: Iterations);
    }

    [Fact]
    public void With_the_default_tolerance_the_advice_reaches_equal_distribution_spread_plus_tolerance_with_fewer_moves()
    {
        Scenario.Gen(maxVss: 250, mode: DistributionMode.Manual).Sample(s =>
        {
            var all = AllUp(s.Topology.Members);
            var current = Current(s.Topology, all);
            var advice = Advisor.Advise(s.Topology, all, current);
            var equal = EqualFigures(s.Topology, current);
            Assert.True(advice.SpreadAfter <= advice.Tolerance, $"spread {advice.SpreadAfter} > tolerance {advice.Tolerance}");
            Assert.True(advice.SpreadAfter <= equal.Spread + advice.Tolerance);
        }, iter: Iterations);
    }

    /// <summary>
    /// Figures for a full-size cluster: 13 members, 250 VSs, weights 1–50, random manual lists,
    /// all Up, default tolerance (the largest weight, 50). Measured (seeds 1–5, printed by this test):
    /// <code>
    /// seed spread-now  advice: moves spread-after   equal: moves spread
    ///    1       600             21        44             235      1
    ///    2       668             15        40             229      3
    ///    3       827             18        42             228      2
    ///    4       515             12        49             228      1
    ///    5       574             13        44             230      2
    /// </code>
    /// The advice moves 12–21 VSs where rewriting every list with <c>equal</c> moves 228–235
    /// (about 1/13), and ends within the tolerance (40–49) where <c>equal</c> reaches 1–3: the
    /// trade the tolerance asks for. A tighter tolerance buys a smaller spread with more moves.
    /// </summary>
    [Fact]
    public void On_a_full_size_cluster_the_advice_moves_far_fewer_vss_than_equal_distribution()
    {
        output.WriteLine("seed spread-now  advice: moves spread-after   equal: moves spread");
        for (var seed = 1; seed <= 5; seed++)
        {
            var s = Scenario.Build(13, 250, seed, DistributionMode.Manual, FailbackMode.PrimaryUp);
            var all = AllUp(s.Topology.Members);
            var current = Current(s.Topology, all);
            var advice = Advisor.Advise(s.Topology, all, current);
            var equal = EqualFigures(s.Topology, current);
            output.WriteLine($"{seed,4} {advice.SpreadBefore,9} {advice.ActiveMoves,14} {advice.SpreadAfter,9} {equal.Moves,15} {equal.Spread,6}");
            Assert.True(advice.SpreadAfter <= equal.Spread + advice.Tolerance);
            Assert.True(advice.ActiveMoves * 3 < equal.Moves, $"advice moves {advice.ActiveMoves}, equal moves {equal.Moves}");
        }
    }

    private static (int Moves, long Spread) EqualFigures(Topology topology, Placement current)
    {
        var lists = Distribution.Equal(topology.Members, [.. topology.VirtualSystems.Select(v => (v.Id, v.Weight))]);
        var moves = lists.Count(l => current.Find(l.Vs)!.Active != l.Members[0]);
        return (moves, Distribution.Imbalance(lists, topology.Members).ActiveSpread);
    }
}
