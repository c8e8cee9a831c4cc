using VslsActors.MultiNode.Harness;
using VslsActors.MultiNode.Traffic;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>
/// Issue 7, item 4: connections of a <c>sync = immediate</c> rule are journaled before their first
/// packet's verdict goes back, so they survive a member that dies right after they open; connections of
/// a <c>sync = delayed</c> rule younger than the VS's sync delay were never checkpointed and are lost
/// (by design: short flows are not worth a journal write). The report counts each kind on its own.
/// </summary>
public sealed class SyncPrioritySpec(ITestOutputHelper output)
{
    private const int ProbesPerVs = 20;

    [Fact]
    public async Task Kill_9_right_after_connections_open_keeps_every_immediately_synced_one_and_loses_the_young_delayed_ones()
    {
        await using var cluster = await MultiNodeCluster.StartAsync(SpecOutput.Options("sync-priority", output));
        var traffic = cluster.StartTraffic();
        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(30)));

        var (victim, victimVss) = await cluster.NonCoordinatorVictimAsync();
        var synced = traffic.SyncedConnections(DateTime.UtcNow);

        var probes = await cluster.Step($"open {ProbesPerVs} new connections in each of {victim}'s VSs {string.Join(",", victimVss)} (half sync immediate, half delayed); their handshakes are accepted",
            async () => (await Task.WhenAll(victimVss.Select(vs => traffic.OpenProbesAsync(vs, ProbesPerVs)))).SelectMany(p => p).ToArray());
        await cluster.Step($"kill -9 {victim} at once", () => cluster.KillAsync(victim));
        var killedAt = cluster.LastFaultAt;

        var convergedAt = await cluster.Step("the survivors run every VS", () => cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(45)));
        var gaps = await cluster.Step("every VS of the victim accepts traffic again", () => traffic.WaitForGapsAsync(victimVss, killedAt, TimeSpan.FromSeconds(30)));

        var report = await cluster.Step("look every new connection up in its VS's table on the new Active member", async () =>
        {
            var tables = await cluster.ConnectionTablesAsync();
            return SyncPriorityReport.Of(probes, killedAt, HarnessTopology.SyncDelay, vs => tables.TryGetValue(vs, out var rows)
                ? rows.Select(r => r[..r.LastIndexOf(' ')]).ToHashSet()
                : throw new InvalidOperationException($"VS {vs}'s table could not be read"));
        });
        cluster.Log(report.ToString());

        // The promise: an immediately synced connection whose first packet was answered is durable.
        Assert.True(report.ImmediateLost.Count == 0, $"immediately synced connections lost: {string.Join("; ", report.ImmediateLost.Take(5))}\n{report}");
        Assert.Equal(report.Immediate, report.ImmediateKept);
        // And the contrast: a delayed one younger than the sync delay at the kill was never written anywhere.
        Assert.True(report.YoungDelayedKept.Count == 0, $"delayed connections younger than the sync delay survived, so they were synced early: {string.Join("; ", report.YoungDelayedKept.Take(5))}\n{report}");
        Assert.True(report.YoungDelayed > 0, $"no delayed connection was younger than the sync delay at the kill (the kill came too late to show the contrast)\n{report}");

        var check = await cluster.Step("check", () => cluster.CheckAsync(convergedAt, synced, gaps));
        cluster.AssertClean(check);
    }
}

/// <summary>What a failover did to connections opened just before it, by sync kind.</summary>
/// <param name="Immediate">Immediately synced connections opened.</param>
/// <param name="ImmediateKept">Of those, found afterwards.</param>
/// <param name="ImmediateLost">Of those, missing afterwards (keys).</param>
/// <param name="YoungDelayed">Delayed-sync connections younger than the sync delay at the kill.</param>
/// <param name="YoungDelayedKept">Of those, found afterwards (keys).</param>
/// <param name="OldDelayed">Delayed-sync connections at least as old as the sync delay at the kill (may or may not have been synced).</param>
/// <param name="OldDelayedKept">Of those, found afterwards.</param>
/// <param name="SyncDelay">The VSs' sync delay.</param>
internal sealed record SyncPriorityReport(int Immediate, int ImmediateKept, IReadOnlyList<string> ImmediateLost,
    int YoungDelayed, IReadOnlyList<string> YoungDelayedKept, int OldDelayed, int OldDelayedKept, TimeSpan SyncDelay)
{
    /// <summary>Sorts <paramref name="probes"/> by kind and age at <paramref name="killedAt"/> and looks each up in <paramref name="table"/>.</summary>
    public static SyncPriorityReport Of(IReadOnlyList<ProbeConnection> probes, DateTime killedAt, TimeSpan syncDelay, Func<int, IReadOnlySet<string>> table)
    {
        bool Kept(ProbeConnection p) => table(p.Vs).Contains(p.Key);
        var immediate = probes.Where(p => !p.Delayed).ToArray();
        var young = probes.Where(p => p.Delayed && killedAt - p.FirstSeen < syncDelay).ToArray();
        var old = probes.Where(p => p.Delayed && killedAt - p.FirstSeen >= syncDelay).ToArray();
        return new SyncPriorityReport(immediate.Length, immediate.Count(Kept), immediate.Where(p => !Kept(p)).Select(p => $"VS {p.Vs} {p.Key}").ToArray(),
            young.Length, young.Where(Kept).Select(p => $"VS {p.Vs} {p.Key}").ToArray(), old.Length, old.Count(Kept), syncDelay);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"connections opened just before the kill: sync immediate {Immediate} opened, {ImmediateKept} kept, {ImmediateLost.Count} lost; " +
        $"sync delayed younger than the {SyncDelay.TotalMilliseconds:0} ms sync delay {YoungDelayed} opened, {YoungDelayedKept.Count} kept, {YoungDelayed - YoungDelayedKept.Count} lost (allowed); " +
        $"sync delayed older {OldDelayed} opened, {OldDelayedKept} kept";
}

/// <summary><see cref="SyncPriorityReport"/> sorts connections by kind and by age at the kill.</summary>
public sealed class SyncPriorityReportTests
{
    private static readonly DateTime KilledAt = new(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void Connections_are_counted_by_sync_kind_and_delayed_ones_by_their_age_at_the_kill()
    {
        ProbeConnection P(string key, bool delayed, int msBeforeKill) => new(1, key, delayed, KilledAt.AddMilliseconds(-msBeforeKill), KilledAt.AddMilliseconds(-msBeforeKill + 5));
        var probes = new[]
        {
            P("i1", false, 50), P("i2", false, 50),
            P("d-young-lost", true, 50), P("d-young-kept", true, 999),
            P("d-old-kept", true, 1000), P("d-old-lost", true, 3000),
        };
        var table = new HashSet<string> { "i1", "d-young-kept", "d-old-kept" };

        var r = SyncPriorityReport.Of(probes, KilledAt, TimeSpan.FromSeconds(1), _ => table);

        Assert.Equal(2, r.Immediate);
        Assert.Equal(1, r.ImmediateKept);
        Assert.Equal(["VS 1 i2"], r.ImmediateLost);
        Assert.Equal(2, r.YoungDelayed);
        Assert.Equal(["VS 1 d-young-kept"], r.YoungDelayedKept);
        Assert.Equal(2, r.OldDelayed);
        Assert.Equal(1, r.OldDelayedKept);
        Assert.Contains("sync immediate 2 opened, 1 kept, 1 lost", r.ToString());
    }
}
