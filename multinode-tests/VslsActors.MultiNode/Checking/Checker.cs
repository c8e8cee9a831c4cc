using System.Globalization;
using System.Text;

namespace VslsActors.MultiNode.Checking;

/// <summary>One journal row as the checker needs it.</summary>
/// <param name="PersistenceId">The entity (<c>vs-3</c>, the registry, ...).</param>
/// <param name="SequenceNumber">Its sequence number.</param>
/// <param name="Writer">The writer (<c>writer_uuid</c>: one per persistent actor incarnation).</param>
public sealed record JournalRow(string PersistenceId, long SequenceNumber, string Writer);

/// <summary>A VS's final state as <c>GET /vs</c> gave it after convergence.</summary>
public sealed record FinalVs(int Vs, string? Active, string? RunningOn);

/// <summary>What the checker is given after a run.</summary>
public sealed record CheckInput
{
    /// <summary>The sampled history.</summary>
    public required History History { get; init; }

    /// <summary>Time zero of the run's story (excerpts show times relative to it).</summary>
    public DateTime Origin { get; init; }

    /// <summary>When the cluster was found converged at the end (samples from then on must match placement); null = rule (b) not checked.</summary>
    public DateTime? ConvergedAt { get; init; }

    /// <summary>The final <c>GET /vs</c> (rule b); empty = not checked.</summary>
    public IReadOnlyList<FinalVs> FinalVirtualSystems { get; init; } = [];

    /// <summary>Per VS, the keys of connections that were synced before the fault (rule c).</summary>
    public IReadOnlyDictionary<int, IReadOnlyCollection<string>> SyncedBeforeFault { get; init; } = new Dictionary<int, IReadOnlyCollection<string>>();

    /// <summary>Per VS, the keys in its connection table after convergence (rule c); a VS missing here was not read.</summary>
    public IReadOnlyDictionary<int, IReadOnlySet<string>> TablesAfter { get; init; } = new Dictionary<int, IReadOnlySet<string>>();

    /// <summary>The journal's rows (rule d); empty = not checked.</summary>
    public IReadOnlyList<JournalRow> Journal { get; init; } = [];

    /// <summary>Per VS that failed over, its failover gap; null = it never answered again (rule e).</summary>
    public IReadOnlyDictionary<int, TimeSpan?> Gaps { get; init; } = new Dictionary<int, TimeSpan?>();
}

/// <summary>One broken invariant, with the part of the history around it.</summary>
/// <param name="Rule">Which rule: <c>double-active</c>, <c>stale-owner</c>, <c>placement</c>, <c>lost-connections</c>, <c>journal</c>, <c>not-back</c>.</param>
/// <param name="Text">What is wrong, in one line.</param>
/// <param name="At">When (null for rules about the end state).</param>
/// <param name="Excerpt">History lines around <paramref name="At"/> (empty when there is no time).</param>
public sealed record Finding(string Rule, string Text, DateTime? At, string Excerpt);

/// <summary>The checker's verdict: every finding at once, and the failover gaps recorded.</summary>
public sealed record CheckReport(IReadOnlyList<Finding> Findings, IReadOnlyDictionary<int, TimeSpan?> Gaps, int Samples)
{
    /// <summary>No finding.</summary>
    public bool Clean => Findings.Count == 0;

    /// <summary>The report as text: a summary line, the gaps, then each finding with its excerpt.</summary>
    public string Describe()
    {
        var b = new StringBuilder();
        b.Append(CultureInfo.InvariantCulture, $"checker: {Findings.Count} finding(s) over {Samples} samples");
        if (Gaps.Count > 0)
            b.Append("; failover gaps: ").Append(string.Join(", ", Gaps.OrderBy(g => g.Key).Select(g => $"VS {g.Key} {(g.Value is { } t ? $"{t.TotalMilliseconds:0} ms" : "not back")}")));
        foreach (var f in Findings)
        {
            b.Append("\n- [").Append(f.Rule).Append("] ").Append(f.Text);
            if (f.Excerpt.Length > 0)
                b.Append('\n').Append(f.Excerpt);
        }
        return b.ToString();
    }
}

/// <summary>
/// The consistency checker (docs/multinode.md, "What the checker checks"). Pure: it reads a
/// <see cref="CheckInput"/> and returns every finding at once.
/// <para><b>Ownership epoch.</b> A member's <i>incarnation of a VS</i> is a maximal run of consecutive
/// samples of one member process (one pid) whose local shard region runs the VS. Since a sample only
/// says the member answered somewhere in [Start, End], the incarnation is known to hold the VS
/// throughout [End of its first sample, Start of its last sample] — its <i>certain interval</i>. Two
/// incarnations of one VS on different members are in the same epoch when their certain intervals
/// overlap: then both ran the VS at the same instant, which rule (a) reports.</para>
/// </summary>
public static class Checker
{
    /// <summary>How much history each finding shows on either side of its time.</summary>
    public static TimeSpan ExcerptMargin { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest silence between two samples of one process across which an incarnation is taken as continuous.</summary>
    public static TimeSpan MaxSilence { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Rule (a) stale owner: how long after a process wakes (its first sample after a silence) it may still
    /// show VSs. A frozen process cannot act before its threads run again; the fence stops its VSs within a
    /// scheduler tick, which on a starved machine took 200 ms. Without the fence runs lasted 2-3 s.
    /// </summary>
    public static TimeSpan WakeGrace { get; set; } = TimeSpan.FromMilliseconds(500);

    private static readonly HashSet<string> s_knowsItIsOut = ["Down", "Exiting", "Removed"];

    /// <summary>Runs every rule.</summary>
    public static CheckReport Check(CheckInput input)
    {
        var findings = new List<Finding>();
        findings.AddRange(DoubleActive(input));
        findings.AddRange(StaleOwners(input));
        findings.AddRange(Placement(input));
        findings.AddRange(LostConnections(input));
        findings.AddRange(Journal(input));
        findings.AddRange(NotBack(input));
        return new CheckReport(findings, input.Gaps, input.History.Samples.Count);
    }

    /// <summary>An incarnation of a VS on a member (see the class summary).</summary>
    internal sealed record Incarnation(string Member, int Pid, int Vs, Sample First, Sample Last)
    {
        public DateTime CertainFrom => First.End;
        public DateTime CertainTo => Last.Start;
        public bool HasCertainInterval => CertainFrom <= CertainTo;
    }

    internal static IReadOnlyList<Incarnation> Incarnations(History history)
    {
        var result = new List<Incarnation>();
        foreach (var byProcess in history.Samples.GroupBy(s => (s.Member, s.Pid)))
        {
            var open = new Dictionary<int, (Sample First, Sample Last)>();
            Sample? previous = null;
            foreach (var s in byProcess.OrderBy(s => s.Start))
            {
                // Continuity is only assumed between samples close together: across a silence (a paused
                // member answers nothing) the VS may have been stopped and started again.
                var silent = previous is not null && s.Start - previous.End > MaxSilence;
                previous = s;
                foreach (var vs in open.Keys.Where(v => silent || !s.Running.Contains(v)).ToArray())
                {
                    result.Add(new Incarnation(s.Member, s.Pid, vs, open[vs].First, open[vs].Last));
                    open.Remove(vs);
                }
                foreach (var vs in s.Running)
                    open[vs] = open.TryGetValue(vs, out var run) ? (run.First, s) : (s, s);
            }
            foreach (var (vs, run) in open)
                result.Add(new Incarnation(byProcess.Key.Member, byProcess.Key.Pid, vs, run.First, run.Last));
        }
        return result;
    }

    /// <summary>Rule (a): two incarnations of one VS on different members in the same epoch.</summary>
    internal static IEnumerable<Finding> DoubleActive(CheckInput input)
    {
        foreach (var group in Incarnations(input.History).Where(i => i.HasCertainInterval).GroupBy(i => i.Vs))
        {
            var list = group.OrderBy(i => i.CertainFrom).ToArray();
            for (var i = 0; i < list.Length; i++)
            {
                for (var j = i + 1; j < list.Length; j++)
                {
                    var a = list[i];
                    var b = list[j];
                    if (a.Member == b.Member)
                        continue;
                    var from = a.CertainFrom > b.CertainFrom ? a.CertainFrom : b.CertainFrom;
                    var to = a.CertainTo < b.CertainTo ? a.CertainTo : b.CertainTo;
                    if (from > to)
                        continue;
                    yield return new Finding("double-active",
                        $"VS {group.Key} was Active on {a.Member} (pid {a.Pid}) and {b.Member} (pid {b.Pid}) at once, for at least {(to - from).TotalMilliseconds:0} ms from {Rel(from, input.Origin)}",
                        from, input.History.Excerpt(from, ExcerptMargin, group.Key, input.Origin));
                }
            }
        }
    }

    /// <summary>
    /// Rule (a), second half: a member that still runs VSs after another member's view has it Down or
    /// removed, while its own view says it is still in (it has not learned it was downed).
    /// </summary>
    internal static IEnumerable<Finding> StaleOwners(CheckInput input)
    {
        var samples = input.History.Samples;
        foreach (var process in samples.GroupBy(s => (s.Member, s.Pid)))
        {
            var (member, pid) = process.Key;
            var born = process.Min(s => s.Start);
            DateTime? outAt = null;
            string? seenBy = null;
            foreach (var observer in samples.Where(s => s.Member != member && s.Start >= born).GroupBy(s => (s.Member, s.Pid)))
            {
                string? previous = null;
                foreach (var s in observer.OrderBy(s => s.Start))
                {
                    var status = s.StatusOf(member);
                    var isOut = status == "Down" || (status is null && previous is not null);
                    if (isOut && (outAt is null || s.End < outAt))
                    {
                        outAt = s.End;
                        seenBy = $"{s.Member} saw it {status ?? "removed"}";
                    }
                    previous = status;
                }
            }
            if (outAt is not { } t)
                continue;
            // When the process woke up (its first sample, or its first after a silence): a woken process needs
            // a moment to run its first timer and notice (the frozen-member fence); runs within the grace are not counted.
            var ordered = process.OrderBy(s => s.Start).ToArray();
            var wakes = ordered.Where((s, i) => i == 0 || s.Start - ordered[i - 1].End > MaxSilence).Select(s => s.Start).ToArray();
            var stale = ordered.Where(s => s.Start > t && s.Running.Count > 0 && !s_knowsItIsOut.Contains(s.SelfStatus ?? "Removed")
                && s.Start - wakes.Last(w => w <= s.Start) > WakeGrace).FirstOrDefault();
            if (stale is null)
                continue;
            yield return new Finding("stale-owner",
                $"{member} (pid {pid}) still ran VSs [{string.Join(",", stale.Running)}] at {Rel(stale.Start, input.Origin)} believing itself {stale.SelfStatus}, after {seenBy} at {Rel(t, input.Origin)}",
                stale.Start, input.History.Excerpt(stale.Start, ExcerptMargin, null, input.Origin));
        }
    }

    /// <summary>Rule (b): after convergence every VS runs on the member placement makes Active, and only there.</summary>
    internal static IEnumerable<Finding> Placement(CheckInput input)
    {
        foreach (var v in input.FinalVirtualSystems)
        {
            if (v.Active is null || v.RunningOn != v.Active)
                yield return new Finding("placement", $"after convergence VS {v.Vs} runs on {v.RunningOn ?? "no member"} but placement makes {v.Active ?? "no member"} Active", null, "");
        }
        if (input.ConvergedAt is not { } converged || input.FinalVirtualSystems.Count == 0)
            yield break;
        var active = input.FinalVirtualSystems.ToDictionary(v => v.Vs, v => v.Active);
        foreach (var s in input.History.Samples.Where(s => s.Start >= converged))
        {
            foreach (var vs in s.Running.Where(vs => active.TryGetValue(vs, out var a) && a != s.Member))
            {
                yield return new Finding("placement", $"after convergence {s.Member} still ran VS {vs} at {Rel(s.Start, input.Origin)} (placement: {active[vs]})",
                    s.Start, input.History.Excerpt(s.Start, ExcerptMargin, vs, input.Origin));
            }
        }
    }

    /// <summary>Rule (c): every connection synced before the fault is in its VS's table afterwards.</summary>
    internal static IEnumerable<Finding> LostConnections(CheckInput input)
    {
        foreach (var (vs, synced) in input.SyncedBeforeFault.OrderBy(p => p.Key))
        {
            if (synced.Count == 0)
                continue;
            if (!input.TablesAfter.TryGetValue(vs, out var table))
            {
                yield return new Finding("lost-connections", $"VS {vs}: its table could not be read after the fault ({synced.Count} synced connections unverified)", null, "");
                continue;
            }
            var missing = synced.Where(k => !table.Contains(k)).ToArray();
            if (missing.Length > 0)
                yield return new Finding("lost-connections", $"VS {vs}: {missing.Length} of {synced.Count} synced connections are missing after the fault, e.g. {string.Join("; ", missing.Take(3))}", null, "");
        }
    }

    /// <summary>Rule (d): per persistence id, sequence numbers 1..n without gap or repeat, and writers that never interleave.</summary>
    internal static IEnumerable<Finding> Journal(CheckInput input)
    {
        foreach (var group in input.Journal.GroupBy(r => r.PersistenceId).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var rows = group.OrderBy(r => r.SequenceNumber).ToArray();
            var repeated = rows.GroupBy(r => r.SequenceNumber).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
            if (repeated.Length > 0)
                yield return new Finding("journal", $"{group.Key}: sequence numbers written twice: {string.Join(", ", repeated.Take(10))}", null, "");
            var distinct = rows.Select(r => r.SequenceNumber).Distinct().ToArray();
            var expected = 1L;
            var gaps = new List<string>();
            foreach (var n in distinct)
            {
                if (n != expected)
                    gaps.Add(n == expected + 1 ? $"{expected}" : $"{expected}-{n - 1}");
                expected = n + 1;
            }
            if (gaps.Count > 0)
                yield return new Finding("journal", $"{group.Key}: sequence numbers missing: {string.Join(", ", gaps.Take(10))} (highest {distinct[^1]})", null, "");
            // A writer that comes back after another wrote means two incarnations wrote at the same time.
            var seen = new List<string>();
            foreach (var r in rows)
            {
                if (seen.Count > 0 && seen[^1] == r.Writer)
                    continue;
                if (seen.Contains(r.Writer))
                {
                    yield return new Finding("journal", $"{group.Key}: writers interleave: {r.Writer} wrote sequence {r.SequenceNumber} after {seen[^1]} had written (two incarnations at once)", null, "");
                    break;
                }
                seen.Add(r.Writer);
            }
        }
    }

    /// <summary>Rule (e): a VS that failed over answers again (its gap is recorded, here only a VS that never came back is a finding).</summary>
    internal static IEnumerable<Finding> NotBack(CheckInput input) =>
        input.Gaps.Where(g => g.Value is null).OrderBy(g => g.Key)
            .Select(g => new Finding("not-back", $"VS {g.Key} never accepted traffic again after the fault", null, ""));

    private static string Rel(DateTime t, DateTime origin) =>
        origin == default ? t.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : $"+{(t - origin).TotalSeconds:0.000}s";
}
