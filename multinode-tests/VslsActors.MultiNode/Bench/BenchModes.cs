using System.Globalization;
using VslsActors.MultiNode.Checking;
using VslsActors.MultiNode.Harness;
using VslsActors.MultiNode.Traffic;

namespace VslsActors.MultiNode.Bench;

/// <summary>
/// Console modes (docs/multinode.md, docs/benchmarks.md "Failover (issue 6)"):
/// <list type="bullet">
/// <item><c>failover-bench [--rounds n]</c>: n rounds of kill -9 of one member under traffic (odd rounds
/// the shard coordinator, even rounds another member), each round: gaps of the victim's VSs, synced
/// connections lost, the checker; the killed member is restarted and the cluster converges before the
/// next round. Baseline, measured in the same rounds: the same gap measure on the VSs that were not on
/// the victim (the driver's own resolution: batch interval plus round trip).</item>
/// <item><c>steady [--minutes m]</c>: full traffic, no fault, for m minutes; counts VS moves (goal 0).</item>
/// </list>
/// </summary>
public static class BenchModes
{
    /// <summary>Runs the mode named by the first argument; 2 for bad input.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        var mode = args.FirstOrDefault();
        int Option(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
        }
        switch (mode)
        {
            case "failover-bench":
                return await FailoverAsync(Option("--rounds", 20)).ConfigureAwait(false);
            case "steady":
                return await SteadyAsync(Option("--minutes", 10)).ConfigureAwait(false);
            default:
                await Console.Error.WriteLineAsync("vsls-multinode: unknown mode; modes: failover-bench [--rounds n], steady [--minutes m]").ConfigureAwait(false);
                return 2;
        }
    }

    private static MultiNodeOptions Options(string name) => new() { Name = name, Output = Console.WriteLine };

    private static async Task<int> FailoverAsync(int rounds)
    {
        await using var cluster = await MultiNodeCluster.StartAsync(Options("failover-bench")).ConfigureAwait(false);
        var traffic = cluster.StartTraffic();
        await traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        var gaps = new List<double>();
        var baseline = new List<double>();
        var coordinatorGaps = new List<double>();
        var otherGaps = new List<double>();
        var lost = 0;
        var findings = 0;
        var notBack = 0;
        var coordinatorRounds = 0;
        var kills = new Dictionary<string, int>();
        var names = cluster.Members.Select(m => m.Name.Value).ToArray();
        for (var round = 1; round <= rounds; round++)
        {
            // Odd rounds kill the shard coordinator, even rounds the member that is not and was killed least.
            // Rotating over the names alone would hit the coordinator almost every round: it is the oldest
            // member, and the restarted victim is always the youngest.
            var coordinator = await cluster.CoordinatorAsync().ConfigureAwait(false);
            var victim = round % 2 == 1 ? coordinator : names.Where(n => n != coordinator).MinBy(n => kills.GetValueOrDefault(n))!;
            kills[victim] = kills.GetValueOrDefault(victim) + 1;
            if (victim == coordinator)
                coordinatorRounds++;
            var victimVss = await cluster.RunningOnAsync(victim).ConfigureAwait(false);
            var synced = traffic.SyncedConnections(DateTime.UtcNow);
            await cluster.Step($"round {round}: kill -9 {victim}{(victim == coordinator ? " (the coordinator)" : "")}, VSs {string.Join(",", victimVss)}", () => cluster.KillAsync(victim)).ConfigureAwait(false);
            var faultAt = cluster.LastFaultAt;
            var converged = await cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(60)).ConfigureAwait(false);
            var roundGaps = await traffic.WaitForGapsAsync(cluster.VirtualSystemIds, faultAt, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            foreach (var (vs, g) in roundGaps)
            {
                if (g is null)
                {
                    if (victimVss.Contains(vs))
                        notBack++;
                    continue;
                }
                (victimVss.Contains(vs) ? gaps : baseline).Add(g.Value.TotalMilliseconds);
                if (victimVss.Contains(vs))
                    (victim == coordinator ? coordinatorGaps : otherGaps).Add(g.Value.TotalMilliseconds);
            }
            var report = await cluster.CheckAsync(converged, synced, roundGaps.Where(p => victimVss.Contains(p.Key)).ToDictionary()).ConfigureAwait(false);
            lost += report.Findings.Count(f => f.Rule == "lost-connections");
            findings += report.Findings.Count;
            cluster.Log($"round {round}: gaps {string.Join(", ", victimVss.Select(vs => $"VS {vs} {roundGaps[vs]?.TotalMilliseconds:0} ms"))}; findings {report.Findings.Count}");
            await cluster.StartAsync(victim).ConfigureAwait(false);
            await cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(90)).ConfigureAwait(false);
            await traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        }
        var outOfState = OutOfStateKeepAlives(cluster, traffic);
        Console.WriteLine();
        Console.WriteLine($"failover-bench: {rounds} rounds of kill -9 ({coordinatorRounds} of the shard coordinator, {rounds - coordinatorRounds} of another member; kills per member: {string.Join(", ", kills.OrderBy(k => k.Key).Select(k => $"{k.Key} {k.Value}"))}), 3 members, {cluster.VirtualSystemIds.Count} VSs, {new TrafficOptions().ConnectionsPerVs} connections per VS, load {Load()}");
        Console.WriteLine($"  failover gap, VSs of the killed member (n={gaps.Count}): median {Percentile(gaps, 50):0} ms, p99 {Percentile(gaps, 99):0} ms, max {gaps.DefaultIfEmpty().Max():0} ms");
        Console.WriteLine($"    of which the coordinator was killed (n={coordinatorGaps.Count}): median {Percentile(coordinatorGaps, 50):0} ms, max {coordinatorGaps.DefaultIfEmpty().Max():0} ms; another member (n={otherGaps.Count}): median {Percentile(otherGaps, 50):0} ms, max {otherGaps.DefaultIfEmpty().Max():0} ms");
        Console.WriteLine($"  baseline, same measure on the other VSs (n={baseline.Count}): median {Percentile(baseline, 50):0} ms, p99 {Percentile(baseline, 99):0} ms, max {baseline.DefaultIfEmpty().Max():0} ms");
        Console.WriteLine($"  ratio (median gap / median baseline): {Percentile(gaps, 50) / Math.Max(1, Percentile(baseline, 50)):0.0}x");
        Console.WriteLine($"  VSs not back: {notBack}; rounds with synced connections lost (checker): {lost}; keep-alives answered out-of-state: {outOfState}; checker findings in all: {findings}");
        Console.WriteLine($"  goal: median <= 2000 ms {(Percentile(gaps, 50) <= 2000 ? "met" : "MISSED")}, p99 <= 4000 ms {(Percentile(gaps, 99) <= 4000 ? "met" : "MISSED")}, 0 lost {(lost == 0 && outOfState == 0 ? "met" : "MISSED")}");
        if (findings == 0)
            cluster.AssertClean(new CheckReport([], new Dictionary<int, TimeSpan?>(), 0));
        return findings == 0 ? 0 : 1;
    }

    /// <summary>Out-of-state answers to keep-alives of established connections: packets of connections a VS lost.</summary>
    private static long OutOfStateKeepAlives(MultiNodeCluster cluster, TrafficDriver traffic) =>
        cluster.VirtualSystemIds.Sum(vs => traffic.OutOfStateSince(vs, cluster.Origin));

    private static async Task<int> SteadyAsync(int minutes)
    {
        await using var cluster = await MultiNodeCluster.StartAsync(Options("steady")).ConfigureAwait(false);
        var traffic = cluster.StartTraffic();
        await traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        var start = DateTime.UtcNow;
        var before = await cluster.VirtualSystemsAsync().ConfigureAwait(false);
        await cluster.Step($"traffic without faults for {minutes} min", () => Task.Delay(TimeSpan.FromMinutes(minutes))).ConfigureAwait(false);
        var after = await cluster.VirtualSystemsAsync().ConfigureAwait(false);
        // A move is a VS incarnation that ended while its member process still ran: counted from the sampled history.
        var moves = Checker.Incarnations(cluster.History).Where(i => i.First.Start >= start).GroupBy(i => i.Vs).Sum(g => Math.Max(0, g.Select(i => i.Member).Distinct().Count() - 1))
            + before.Count(b => after.First(a => a.Vs == b.Vs).RunningOn != b.RunningOn);
        var batches = traffic.Batches.Where(b => b.SentAt >= start).ToArray();
        var accepted = batches.Count(b => b.FullyAccepted);
        var gaps = cluster.VirtualSystemIds.Select(vs => MaxGap(batches.Where(b => b.Vs == vs && b.FullyAccepted).Select(b => b.AnsweredAt!.Value).Order().ToArray())).ToArray();
        Console.WriteLine();
        Console.WriteLine($"steady: {minutes} min, no faults, 3 members, {cluster.VirtualSystemIds.Count} VSs, load {Load()}");
        Console.WriteLine($"  VS moves (false failovers): {moves} (goal 0: {(moves == 0 ? "met" : "MISSED")})");
        Console.WriteLine($"  batches {batches.Length}, fully accepted {accepted} ({100.0 * accepted / Math.Max(1, batches.Length):0.00} %); longest pause between accepted answers per VS: max {gaps.Max():0} ms beside the batch interval {new TrafficOptions().Interval.TotalMilliseconds:0} ms (ratio {gaps.Max() / new TrafficOptions().Interval.TotalMilliseconds:0.0}x)");
        var report = await cluster.CheckAsync(await cluster.WaitForConvergenceAsync().ConfigureAwait(false)).ConfigureAwait(false);
        Console.WriteLine("  " + report.Describe());
        if (report.Clean)
            cluster.AssertClean(report);
        return report.Clean && moves == 0 ? 0 : 1;
    }

    private static double MaxGap(DateTime[] times) =>
        times.Length < 2 ? 0 : times.Zip(times.Skip(1), (a, b) => (b - a).TotalMilliseconds).Max();

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    private static string Load()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
