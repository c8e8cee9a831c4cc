using CsCheck;
using VslsActors.Domain.Configuration;

namespace VslsActors.Domain.Tests.Placement;

using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;
using static PlacementTestData;

public sealed class WhatIfTests
{
    private static readonly Topology Three = Topology(Members(3),
    [
        Vs(1, 10, M(1), M(2), M(3)),
        Vs(2, 20, M(1), M(3), M(2)),
        Vs(3, 10, M(2), M(3), M(1)),
        Vs(4, 20, M(3), M(1), M(2)),
    ]);

    private static FailureOutlook Fail(Topology t, IReadOnlyDictionary<MemberName, MemberState> states, params MemberName[] failed) =>
        WhatIf.Fail(t, states, PlacementCalculator.Compute(t, states, null), failed);

    [Fact]
    public void Failing_a_member_moves_its_vss_to_their_standbys_and_reports_loads_before_and_after()
    {
        var outlook = Fail(Three, AllUp(Three.Members), M(1));

        Assert.Equal([new ActiveChange(new VsId(1), 10, M(1), M(2)), new ActiveChange(new VsId(2), 20, M(1), M(3))], outlook.Changes.ToArray());
        Assert.Empty(outlook.DownVss);
        Assert.Equal([30L, 10L, 20L], outlook.Members.Select(m => m.ActiveLoadBefore));
        Assert.Equal([0L, 20L, 40L], outlook.Members.Select(m => m.ActiveLoadAfter));
        Assert.Equal(MemberState.Down, outlook.Members[0].StateAfter);
        Assert.Equal(20, outlook.EvenShare);
        Assert.Equal(40, outlook.LoadAfter.ActiveSpread);
        // member-3 carries 40 = 200 % of its even share of 20: over the 150 % threshold.
        var warning = Assert.Single(outlook.Warnings);
        Assert.Equal(M(3), warning.Member);
        Assert.Equal(200, warning.PercentOfEvenShareAfter);
    }

    [Fact]
    public void The_threshold_is_the_callers_choice()
    {
        var outlook = WhatIf.Fail(Three, AllUp(Three.Members), PlacementCalculator.Compute(Three, AllUp(Three.Members), null), [M(1)], overloadPercent: 99);
        Assert.Equal([M(2), M(3)], outlook.Warnings.Select(w => w.Member));
    }

    [Fact]
    public void Vss_with_no_member_left_are_reported_down()
    {
        var states = States(MemberState.Up, MemberState.Down, MemberState.Up);
        var outlook = Fail(Three, states, M(1), M(3));

        Assert.Equal([1, 2, 3, 4], outlook.DownVss.Select(v => v.Value));
        Assert.All(outlook.Changes, c => Assert.Null(c.To));
        Assert.All(outlook.Members, m => Assert.Equal(0, m.ActiveLoadAfter));
    }

    [Fact]
    public void With_active_up_failback_the_vss_not_on_the_failed_member_stay_put()
    {
        var t = Three with { Vsls = new VslsSettings(Failback: FailbackMode.ActiveUp) };
        // VS 3 runs on member-3 although member-2 heads its list (it failed over earlier).
        var current = Placement.From(PlacementCalculator.Compute(t, AllUp(t.Members), null).Vss
            .Select(p => p.Vs.Value == 3 ? p with { Active = M(3), Standby = M(2) } : p));

        var outlook = WhatIf.Fail(t, AllUp(t.Members), current, [M(1)]);

        Assert.Equal(M(3), outlook.After.Find(new VsId(3))!.Active);
        Assert.Equal([1, 2], outlook.Changes.Select(c => c.Vs.Value));
    }

    [Theory]
    [InlineData(new[] { "member-9" }, "plan fail: member: unknown member 'member-9' (members: member-1, member-2, member-3)")]
    [InlineData(new[] { "member-2", "member-1", "member-2" }, "plan fail: member: member 'member-2' is listed twice")]
    [InlineData(new[] { "member-3", "member-1", "member-2" }, "plan fail: member: failing every member (member-1, member-2, member-3) leaves nowhere to run any virtual system; leave at least one out")]
    [InlineData(new string[0], "plan fail: member: no member to fail (give one or more, separated by commas)")]
    public void Bad_member_lists_are_refused_with_one_line_naming_the_member(string[] failed, string message)
    {
        var e = Assert.Throws<ConfigException>(() => Fail(Three, AllUp(Three.Members), [.. failed.Select(f => new MemberName(f))]));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void The_outlook_is_the_placement_with_those_members_down_and_only_their_vss_change_active()
    {
        Gen.Select(Scenario.Gen(maxVss: 80), Gen.Int[0, int.MaxValue]).Sample((s, seed) =>
        {
            var members = s.Topology.Members;
            if (members.Length < 2)
                return;
            var rnd = new Random(seed);
            var failed = members.OrderBy(_ => rnd.Next()).Take(rnd.Next(1, members.Length)).ToArray();
            var current = PlacementCalculator.Compute(s.Topology, s.States, null);

            var outlook = WhatIf.Fail(s.Topology, s.States, current, failed);

            var states = members.ToDictionary(m => m, m => failed.Contains(m) ? MemberState.Down : StateOf(s.States, m));
            Assert.Equal(PlacementCalculator.Compute(s.Topology, states, current), outlook.After);
            foreach (var c in outlook.Changes)
                Assert.Contains(c.From!.Value, failed);
            Assert.All(outlook.Members.Where(m => failed.Contains(m.Member)), m => Assert.Equal(0, m.ActiveLoadAfter));
            var placedWeight = outlook.After.Vss.Where(p => p.Active is not null).Sum(p => (long)p.Weight);
            Assert.Equal(placedWeight, outlook.Members.Sum(m => m.ActiveLoadAfter));
        }, iter: 300);
    }
}
