using VslsActors.MultiNode.Checking;

namespace VslsActors.MultiNode.Specs;

/// <summary>The checker's rules on hand-made histories: each one fires on the fault it names and stays quiet on a clean run.</summary>
public sealed class CheckerRuleTests
{
    private static readonly DateTime T0 = new(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);

    private static readonly string[] Everyone = ["m1", "m2", "m3"];

    /// <summary>A sample of <paramref name="member"/> at <paramref name="ms"/> (10 ms window) running <paramref name="running"/>.</summary>
    private static Sample S(string member, int ms, int[] running, string self = "Up", int pid = 0, (string Member, string Status)[]? view = null) =>
        new(member, pid == 0 ? member.GetHashCode() & 0xffff : pid, T0.AddMilliseconds(ms), T0.AddMilliseconds(ms + 10), self,
            (view ?? Everyone.Select(m => (m, m == member ? self : "Up")).ToArray()).Select(v => new SampledMember(v.Item1, v.Item2, true)).ToArray(), running);

    private static CheckReport Check(IEnumerable<Sample> samples, Func<CheckInput, CheckInput>? with = null)
    {
        var input = new CheckInput { History = History.Of(samples), Origin = T0 };
        return Checker.Check(with?.Invoke(input) ?? input);
    }

    /// <summary>A hand-over: m1 runs VS 1 until 1 s, m2 from 1.2 s on, every member sampled every 200 ms.</summary>
    private static IEnumerable<Sample> CleanHandOver()
    {
        for (var ms = 0; ms <= 2000; ms += 200)
        {
            yield return S("m1", ms, ms <= 1000 ? [1] : []);
            yield return S("m2", ms + 50, ms >= 1200 ? [1] : []);
        }
    }

    [Fact]
    public void A_clean_hand_over_has_no_finding()
    {
        var report = Check(CleanHandOver());
        Assert.True(report.Clean, report.Describe());
    }

    [Fact]
    public void Double_active_fires_when_two_members_run_a_VS_over_overlapping_certain_intervals()
    {
        var samples = new List<Sample>();
        for (var ms = 0; ms <= 2000; ms += 200)
        {
            samples.Add(S("m1", ms, [1]));
            samples.Add(S("m2", ms + 50, ms >= 800 ? [1] : []));
        }
        var report = Check(samples);
        var f = Assert.Single(report.Findings);
        Assert.Equal("double-active", f.Rule);
        Assert.Contains("VS 1", f.Text);
        Assert.Contains("m2", f.Excerpt); // the history around it
    }

    [Fact]
    public void Double_active_does_not_bridge_a_silence_of_a_paused_member()
    {
        // m1 runs VS 1, falls silent (paused) from 0.4 s to 5 s while m2 takes VS 1, then shows nothing.
        var samples = new List<Sample> { S("m1", 0, [1]), S("m1", 200, [1]), S("m1", 5000, []) };
        for (var ms = 1000; ms <= 5000; ms += 200)
            samples.Add(S("m2", ms + 50, [1]));
        Assert.DoesNotContain(Check(samples).Findings, f => f.Rule == "double-active");
    }

    [Fact]
    public void Stale_owner_fires_when_a_downed_member_keeps_running_VSs_believing_itself_up()
    {
        var samples = new List<Sample>
        {
            S("m3", 0, [5]),
            S("m3", 200, [5]),
            // m1 sees m3 Down at 3 s, then removed.
            S("m1", 3000, [1], view: [("m1", "Up"), ("m2", "Up"), ("m3", "Down")]),
            S("m1", 3200, [1, 5], view: [("m1", "Up"), ("m2", "Up")]),
        };
        // m3 wakes at 8 s and runs VS 5 for 1.5 s still thinking it is Up.
        for (var ms = 8000; ms <= 9500; ms += 200)
            samples.Add(S("m3", ms, [5]));
        var f = Assert.Single(Check(samples).Findings, f => f.Rule == "stale-owner");
        Assert.Contains("m3", f.Text);
        Assert.Contains("m1 saw it Down", f.Text);
    }

    [Fact]
    public void Stale_owner_allows_the_wake_up_grace_and_a_member_that_knows_it_is_down()
    {
        var samples = new List<Sample>
        {
            S("m3", 0, [5]),
            S("m1", 3000, [1], view: [("m1", "Up"), ("m2", "Up"), ("m3", "Down")]),
            S("m3", 8000, [5]),            // first sample after waking: within the grace
            S("m3", 8600, [5], self: "Down"), // knows it was downed (shutting down)
            S("m3", 8800, []),
        };
        Assert.DoesNotContain(Check(samples).Findings, f => f.Rule == "stale-owner");
    }

    [Fact]
    public void Placement_fires_for_a_VS_off_its_Active_member_after_convergence()
    {
        var report = Check(CleanHandOver(), i => i with
        {
            ConvergedAt = T0.AddMilliseconds(1500),
            FinalVirtualSystems = [new FinalVs(1, "m1", "m2")],
        });
        Assert.Contains(report.Findings, f => f.Rule == "placement" && f.Text.Contains("VS 1 runs on m2 but placement makes m1 Active"));
        Assert.Contains(report.Findings, f => f.Rule == "placement" && f.Text.Contains("m2 still ran VS 1"));
    }

    [Fact]
    public void Placement_is_quiet_when_every_VS_runs_on_its_Active_member()
    {
        var report = Check(CleanHandOver(), i => i with { ConvergedAt = T0.AddMilliseconds(1500), FinalVirtualSystems = [new FinalVs(1, "m2", "m2")] });
        Assert.True(report.Clean, report.Describe());
    }

    [Fact]
    public void Lost_connections_fires_for_a_synced_connection_missing_afterwards()
    {
        var report = Check(CleanHandOver(), i => i with
        {
            SyncedBeforeFault = new Dictionary<int, IReadOnlyCollection<string>> { [1] = ["a", "b", "c"], [2] = ["x"] },
            TablesAfter = new Dictionary<int, IReadOnlySet<string>> { [1] = new HashSet<string> { "a", "c", "z" }, [2] = new HashSet<string> { "x" } },
        });
        var f = Assert.Single(report.Findings);
        Assert.Equal("lost-connections", f.Rule);
        Assert.Contains("VS 1: 1 of 3", f.Text);
        Assert.Contains("b", f.Text);
    }

    [Fact]
    public void Journal_fires_for_a_gap_a_repeat_and_interleaved_writers()
    {
        var report = Check(CleanHandOver(), i => i with
        {
            Journal =
            [
                new JournalRow("vs-1", 1, "w1"), new JournalRow("vs-1", 2, "w1"), new JournalRow("vs-1", 4, "w2"),
                new JournalRow("vs-2", 1, "w1"), new JournalRow("vs-2", 2, "w1"), new JournalRow("vs-2", 2, "w2"),
                new JournalRow("vs-3", 1, "w1"), new JournalRow("vs-3", 2, "w2"), new JournalRow("vs-3", 3, "w1"),
                new JournalRow("vs-4", 1, "w1"), new JournalRow("vs-4", 2, "w2"), new JournalRow("vs-4", 3, "w2"),
            ],
        });
        var journal = report.Findings.Where(f => f.Rule == "journal").Select(f => f.Text).ToArray();
        Assert.Contains(journal, t => t.StartsWith("vs-1: sequence numbers missing: 3", StringComparison.Ordinal));
        Assert.Contains(journal, t => t.StartsWith("vs-2: sequence numbers written twice: 2", StringComparison.Ordinal));
        Assert.Contains(journal, t => t.StartsWith("vs-3: writers interleave", StringComparison.Ordinal));
        Assert.DoesNotContain(journal, t => t.StartsWith("vs-4", StringComparison.Ordinal)); // a clean hand-over from w1 to w2
    }

    [Fact]
    public void Not_back_fires_for_a_VS_that_never_answered_after_the_fault_and_gaps_are_reported()
    {
        var report = Check(CleanHandOver(), i => i with { Gaps = new Dictionary<int, TimeSpan?> { [1] = TimeSpan.FromMilliseconds(1500), [2] = null } });
        var f = Assert.Single(report.Findings);
        Assert.Equal("not-back", f.Rule);
        Assert.Contains("VS 2", f.Text);
        Assert.Contains("VS 1 1500 ms", report.Describe());
    }
}
