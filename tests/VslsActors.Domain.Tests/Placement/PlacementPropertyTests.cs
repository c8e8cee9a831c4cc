using CsCheck;

namespace VslsActors.Domain.Tests.Placement;

using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;
using static PlacementTestData;

public sealed class PlacementPropertyTests
{
    private const long Iterations = 400;

    [Fact]
    public void Every_vs_has_exactly_one_active_while_any_member_is_up_and_its_roles_are_distinct_hosting_members()
    {
        Scenario.Gen().Sample(s =>
        {
            var placement = PlacementCalculator.Compute(s.Topology, s.States, null);
            Assert.Equal(s.Topology.VirtualSystems.Length, placement.Count);
            var anyUp = s.Topology.Members.Any(m => StateOf(s.States, m) == MemberState.Up);
            var hosting = s.Topology.Members.Where(m => StateOf(s.States, m) != MemberState.Down).ToHashSet();
            foreach (var vs in s.Topology.VirtualSystems)
            {
                var p = placement.Find(vs.Id)!;
                if (anyUp)
                {
                    Assert.NotNull(p.Active);
                    Assert.Equal(MemberState.Up, StateOf(s.States, p.Active.Value));
                }
                // Active, Standby and Backups are every hosting member, each once: a VS always
                // has somewhere to run (the effective list ends with every configured member).
                var roles = new[] { p.Active, p.Standby }.Where(m => m is not null).Select(m => m!.Value).Concat(p.Backups).ToList();
                Assert.Equal(roles.Count, roles.Distinct().Count());
                Assert.True(hosting.SetEquals(roles), $"VS {vs.Id}: roles {string.Join(",", roles)} vs hosting {string.Join(",", hosting)}");
                Assert.Equal(vs.Weight, p.Weight);
            }
        }, iter: Iterations);
    }

    [Fact]
    public void With_primary_up_the_active_is_the_first_up_member_of_the_effective_priority_list()
    {
        Scenario.Gen(failback: FailbackMode.PrimaryUp).Sample(s =>
        {
            var placement = PlacementCalculator.Compute(s.Topology, s.States, null);
            foreach (var vs in s.Topology.VirtualSystems)
            {
                var list = ExpectedEffectiveList(s.Topology, vs.Id);
                var up = list.Where(m => StateOf(s.States, m) == MemberState.Up);
                var draining = list.Where(m => StateOf(s.States, m) == MemberState.Draining);
                var ranked = up.Concat(draining).ToList();
                var p = placement.Find(vs.Id)!;
                Assert.Equal(ranked.Count > 0 ? ranked[0] : null, p.Active);
                Assert.Equal(ranked.Count > 1 ? ranked[1] : null, p.Standby);
                Assert.Equal(ranked.Skip(2), p.Backups);
            }
        }, iter: Iterations);
    }

    [Fact]
    public void Standby_is_never_the_active_member()
    {
        Scenario.Gen().Sample(s =>
        {
            var first = PlacementCalculator.Compute(s.Topology, s.States, null);
            var rnd = new Random(s.Seed);
            var second = PlacementCalculator.Compute(s.Topology, Scenario.RandomStates(s.Topology.Members, rnd), first);
            foreach (var p in first.Vss.Concat(second.Vss))
            {
                Assert.True(p.Standby is null || p.Standby != p.Active, p.ToString());
                Assert.True(p.Standby is null || p.Active is not null, p.ToString());
            }
        }, iter: Iterations);
    }

    [Fact]
    public void When_a_member_goes_down_only_the_vss_active_or_standby_there_change_active_or_standby()
    {
        Gen.Select(Scenario.Gen(), Gen.Int[0, 12]).Sample((s, pick) =>
        {
            // Start from a placement the cluster could be in: computed from earlier states.
            var rnd = new Random(s.Seed);
            var earlier = PlacementCalculator.Compute(s.Topology, Scenario.RandomStates(s.Topology.Members, rnd), null);
            var before = PlacementCalculator.Compute(s.Topology, s.States, earlier);
            var alive = s.Topology.Members.Where(m => StateOf(s.States, m) != MemberState.Down).ToList();
            if (alive.Count == 0)
                return;
            var dying = alive[pick % alive.Count];
            var states = new Dictionary<MemberName, MemberState>(s.States) { [dying] = MemberState.Down };
            var after = PlacementCalculator.Compute(s.Topology, states, before);

            foreach (var b in before.Vss)
            {
                var a = after.Find(b.Vs)!;
                if (b.Active == dying)
                {
                    // The Standby takes over.
                    Assert.Equal(b.Standby, a.Active);
                }
                else if (b.Standby == dying)
                {
                    Assert.Equal(b.Active, a.Active);
                    Assert.NotEqual(dying, a.Standby);
                }
                else
                {
                    Assert.Equal(b.Active, a.Active);
                    Assert.Equal(b.Standby, a.Standby);
                }
            }
        }, iter: Iterations);
    }

    [Fact]
    public void Equal_keeps_active_and_standby_loads_of_any_two_members_within_one_maximum_vs_weight()
    {
        Scenario.Gen(maxVss: 250, mode: DistributionMode.Equal).Sample(s =>
        {
            var placement = PlacementCalculator.Compute(s.Topology, AllUp(s.Topology.Members), null);
            var maxWeight = s.Topology.VirtualSystems.Select(v => v.Weight).DefaultIfEmpty(0).Max();
            var report = Distribution.Imbalance(placement, s.Topology.Members);
            Assert.True(report.ActiveSpread <= maxWeight, $"active spread {report.ActiveSpread} > {maxWeight}");
            Assert.True(report.StandbySpread <= maxWeight || s.Topology.Members.Length == 1, $"standby spread {report.StandbySpread} > {maxWeight}");
        }, iter: Iterations);
    }

    [Fact]
    public void Equal_lists_hold_every_member_once_with_balanced_positions_for_any_weights()
    {
        // Wider weights than topologies use (1..1000, sometimes a few giants) to stress the bound.
        var gen = Gen.Select(Gen.Int[1, 13], Gen.Int[0, 250], Gen.Int[0, int.MaxValue]);
        gen.Sample((n, v, seed) =>
        {
            var rnd = new Random(seed);
            var members = Members(n);
            var vss = Enumerable.Range(1, v)
                .Select(i => (new VsId(i), rnd.Next(8) == 0 ? rnd.Next(500, 1001) : rnd.Next(1, 101)))
                .OrderBy(_ => rnd.Next()).ToList();
            var lists = Distribution.Equal(members, vss);
            Assert.Equal(v, lists.Length);
            foreach (var l in lists)
            {
                Assert.Equal(members.OrderBy(m => m), l.Members.OrderBy(m => m));
            }
            var maxWeight = vss.Select(x => x.Item2).DefaultIfEmpty(0).Max();
            var report = Distribution.Imbalance(lists, members);
            Assert.True(report.ActiveSpread <= maxWeight, $"active spread {report.ActiveSpread} > {maxWeight}");
            Assert.True(n == 1 || report.StandbySpread <= maxWeight, $"standby spread {report.StandbySpread} > {maxWeight}");
        }, iter: Iterations);
    }

    [Fact]
    public void All_on_puts_every_active_on_the_member_and_spreads_standbys_over_the_others_by_weight()
    {
        Scenario.Gen(maxVss: 250, mode: DistributionMode.AllOn).Sample(s =>
        {
            var home = s.Topology.Vsls.AllOnMember!.Value;
            var placement = PlacementCalculator.Compute(s.Topology, AllUp(s.Topology.Members), null);
            Assert.All(placement.Vss, p => Assert.Equal(home, p.Active));
            var others = s.Topology.Members.Where(m => m != home).ToList();
            var maxWeight = s.Topology.VirtualSystems.Select(v => v.Weight).DefaultIfEmpty(0).Max();
            var report = Distribution.Imbalance(placement, others);
            Assert.True(report.StandbySpread <= maxWeight, $"standby spread {report.StandbySpread} > {maxWeight}");
        }, iter: Iterations);
    }

    [Fact]
    public void The_same_inputs_give_the_same_placement_whatever_the_order_of_vss_and_member_states()
    {
        Scenario.Gen().Sample(s =>
        {
            var rnd = new Random(s.Seed);
            var current = PlacementCalculator.Compute(s.Topology, Scenario.RandomStates(s.Topology.Members, rnd), null);
            var expected = PlacementCalculator.Compute(s.Topology, s.States, current);

            var shuffled = s.Topology with { VirtualSystems = [.. s.Topology.VirtualSystems.OrderBy(_ => rnd.Next())] };
            var reversedStates = s.States.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value);
            var currentShuffled = Placement.From(current.Vss.OrderBy(_ => rnd.Next()));

            Assert.Equal(expected, PlacementCalculator.Compute(s.Topology, s.States, current));
            Assert.Equal(expected, PlacementCalculator.Compute(shuffled, reversedStates, currentShuffled));
            Assert.Equal(expected.GetHashCode(), PlacementCalculator.Compute(shuffled, reversedStates, currentShuffled).GetHashCode());
        }, iter: Iterations);
    }

    [Fact]
    public void With_active_up_a_vs_stays_on_an_active_member_that_is_still_up()
    {
        Scenario.Gen(failback: FailbackMode.ActiveUp).Sample(s =>
        {
            var rnd = new Random(s.Seed);
            var earlierStates = Scenario.RandomStates(s.Topology.Members, rnd);
            var earlier = PlacementCalculator.Compute(s.Topology, earlierStates, null);
            var now = PlacementCalculator.Compute(s.Topology, s.States, earlier);
            foreach (var p in earlier.Vss)
            {
                if (p.Active is { } was && StateOf(s.States, was) == MemberState.Up)
                    Assert.Equal(was, now.Find(p.Vs)!.Active);
            }
        }, iter: Iterations);
    }

    [Fact]
    public void A_draining_member_is_active_only_when_no_member_is_up()
    {
        Scenario.Gen().Sample(s =>
        {
            var anyUp = s.Topology.Members.Any(m => StateOf(s.States, m) == MemberState.Up);
            var placement = PlacementCalculator.Compute(s.Topology, s.States, null);
            foreach (var p in placement.Vss)
            {
                if (p.Active is { } a && StateOf(s.States, a) == MemberState.Draining)
                    Assert.False(anyUp, p.ToString());
            }
        }, iter: Iterations);
    }
}
