using VslsActors.MultiNode.Harness;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>
/// Failback on one cluster, in two acts. Under <c>primary-up</c> a member killed with kill -9 and started
/// again takes its VSs back from their Standby members, with no synced connection lost on the way back.
/// Then, after <c>vsls ctl dist failback active-up</c>, the same kill and restart leaves the VSs where they
/// failed over to, and the returning member becomes their Standby.
/// </summary>
public sealed class FailbackSpecs(ITestOutputHelper output)
{
    private const string Primary = "member-1";

    [Fact]
    public async Task Under_primary_up_a_returning_member_takes_its_VSs_back_and_under_active_up_it_becomes_Standby()
    {
        await using var cluster = await MultiNodeCluster.StartAsync(SpecOutput.Options("failback", output));
        var traffic = cluster.StartTraffic();
        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)));
        var home = await cluster.RunningOnAsync(Primary);
        Assert.NotEmpty(home);

        // Act 1: primary-up.
        var (syncedA, failedOverTo, restartedAt) = await KillAndRestartAsync(cluster, traffic, home, "primary-up");
        var converged = await cluster.Step($"VSs {string.Join(",", home)} fail back to {Primary} (primary-up)", async () =>
        {
            await Eventually.Until(async () =>
            {
                var now = await cluster.RunningOnAsync(Primary);
                return home.All(now.Contains) ? null : $"{Primary} runs [{string.Join(",", now)}], not yet [{string.Join(",", home)}]";
            }, TimeSpan.FromSeconds(90));
            return await cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(60));
        });
        var backGaps = await cluster.Step("every VS that failed back accepts traffic on its primary", () => traffic.WaitForGapsAsync(home, restartedAt, TimeSpan.FromSeconds(30)));
        var report = await cluster.Step("check after the failback", () => cluster.CheckAsync(converged, syncedA, backGaps));
        cluster.AssertClean(report);

        // Act 2: active-up.
        await cluster.Step("vsls ctl dist failback active-up", async () =>
        {
            var (code, text) = await cluster.CtlAsync("member-2", "dist", "failback", "active-up");
            Assert.True(code == 0, $"dist failback active-up exited with {code}: {text}");
        });
        var (syncedB, stayOn, _) = await KillAndRestartAsync(cluster, traffic, home, "active-up");
        var convergedB = await cluster.Step($"{Primary} is Up again and becomes Standby of VSs {string.Join(",", home)}, which stay where they are (active-up)", async () =>
        {
            var at = await cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(90));
            await Eventually.Until(async () =>
            {
                var vss = await cluster.VirtualSystemsAsync();
                var off = vss.Where(v => home.Contains(v.Vs) && v.Standby != Primary).ToArray();
                return off.Length == 0 ? null : "not yet Standby on " + Primary + ": " + string.Join(", ", off.Select(v => $"VS {v.Vs} (Standby {v.Standby ?? "-"})"));
            }, TimeSpan.FromSeconds(30));
            return at;
        });
        var final = await cluster.VirtualSystemsAsync();
        foreach (var vs in home)
        {
            var v = final.Single(x => x.Vs == vs);
            Assert.Equal(stayOn[vs], v.RunningOn);
            Assert.Equal(stayOn[vs], v.Active);
        }
        Assert.Empty(await cluster.RunningOnAsync(Primary));
        var reportB = await cluster.Step("check after the return under active-up", () => cluster.CheckAsync(convergedB, syncedB));
        cluster.AssertClean(reportB);
        Assert.NotEmpty(failedOverTo);
    }

    /// <summary>
    /// kill -9 of <see cref="Primary"/>, failover of its VSs, then its restart. Returns the connections
    /// that must survive (synced before the kill or before the restart), where each VS failed over to, and
    /// when the restart began (a failback's gap is measured across it).
    /// </summary>
    private static async Task<(IReadOnlyDictionary<int, IReadOnlyCollection<string>> Synced, IReadOnlyDictionary<int, string> FailedOverTo, DateTime RestartedAt)> KillAndRestartAsync(
        MultiNodeCluster cluster, Traffic.TrafficDriver traffic, IReadOnlyList<int> home, string mode)
    {
        var syncedBeforeKill = traffic.SyncedConnections(DateTime.UtcNow);
        await cluster.Step($"kill -9 {Primary} ({mode}; it runs VSs {string.Join(",", home)})", () => cluster.KillAsync(Primary));
        var killedAt = cluster.LastFaultAt;
        await cluster.Step("the survivors converge: the VSs run on their Standby members", () => cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(60)));
        var vss = await cluster.VirtualSystemsAsync();
        var to = home.ToDictionary(vs => vs, vs => vss.Single(v => v.Vs == vs).RunningOn ?? "-");
        Assert.All(to.Values, m => Assert.NotEqual(Primary, m));
        await cluster.Step("every failed-over VS accepts traffic", async () =>
        {
            var gaps = await traffic.WaitForGapsAsync(home, killedAt, TimeSpan.FromSeconds(30));
            Assert.All(gaps, g => Assert.True(g.Value is not null, $"VS {g.Key} accepts no traffic after the kill"));
        });
        // The delayed-sync connections opened on the Standby after the failover must reach it too.
        await cluster.Step("connections opened since are established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)));
        var synced = Eventually.Union(syncedBeforeKill, traffic.SyncedConnections(DateTime.UtcNow));
        var restartedAt = DateTime.UtcNow;
        await cluster.Step($"start {Primary} again (failed over to: {string.Join(", ", to.Select(p => $"VS {p.Key} on {p.Value}"))})", () => cluster.StartAsync(Primary));
        return (synced, to, restartedAt);
    }
}
