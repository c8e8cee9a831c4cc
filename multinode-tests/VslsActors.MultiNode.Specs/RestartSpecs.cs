using VslsActors.MultiNode.Harness;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>
/// Restarts of the whole cluster: a rolling restart (SIGTERM, hand-off, start again, one member at a time)
/// loses no connection; a full stop (kill -9 of every member at once) and start restores every VS's
/// whole connection table from its checkpoints and deltas.
/// </summary>
public sealed class RestartSpecs(ITestOutputHelper output)
{
    [Fact]
    public async Task Rolling_restart_of_every_member_loses_no_connection()
    {
        await using var cluster = await MultiNodeCluster.StartAsync(SpecOutput.Options("rolling-restart", output));
        var traffic = cluster.StartTraffic();
        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)));
        var synced = traffic.SyncedConnections(DateTime.UtcNow);
        var before = synced.Values.Sum(s => s.Count);
        cluster.Log($"{before} synced connections before the rolling restart");

        var converged = DateTime.UtcNow;
        foreach (var member in cluster.Members.Select(m => m.Name.Value).ToArray())
        {
            var its = await cluster.RunningOnAsync(member);
            var code = await cluster.Step($"SIGTERM {member} (it runs VSs {string.Join(",", its)}); it hands off and exits", () => cluster.StopGracefullyAsync(member));
            Assert.True(code == 0, $"{member} exited with {code?.ToString() ?? "nothing (still running after 60 s)"} after SIGTERM");
            var stoppedAt = cluster.LastFaultAt;
            var rest = cluster.Members.Select(m => m.Name.Value).Where(m => m != member).ToArray();
            await cluster.Step($"the other two converge with {member}'s VSs", () => cluster.WaitForConvergenceAsync(rest, TimeSpan.FromSeconds(60)));
            await cluster.Step($"VSs {string.Join(",", its)} accept traffic on their Standby members", async () =>
            {
                var gaps = await traffic.WaitForGapsAsync(its, stoppedAt, TimeSpan.FromSeconds(30));
                Assert.All(gaps, g => Assert.True(g.Value is not null, $"VS {g.Key} accepts no traffic after {member} left"));
            });
            await cluster.Step($"start {member} again", () => cluster.StartAsync(member));
            converged = await cluster.Step($"{member} is Up and every VS runs where placement says (its VSs are back on it)",
                () => cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(90)));
            Assert.Equal(its.Order(), (await cluster.RunningOnAsync(member)).Order());
            // Connections opened meanwhile must survive the next member's restart as well.
            await cluster.Step("every VS's connections are established and synced again", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)));
            synced = Eventually.Union(synced, traffic.SyncedConnections(DateTime.UtcNow));
        }

        var tables = await cluster.ConnectionTablesAsync();
        cluster.Log($"after the rolling restart: {tables.Values.Sum(t => t.Count)} connections in the tables; {synced.Values.Sum(s => s.Count)} synced connections to find (of which {before} from before the first restart)");
        var report = await cluster.Step("check", () => cluster.CheckAsync(converged, synced));
        cluster.AssertClean(report);
    }

    /// <remarks>
    /// kill -9 rather than SIGTERM: a full stop in the field is a power cut or a crash of every host, and
    /// only kill -9 proves the tables come back from what is in the database alone (checkpoints and
    /// deltas), with no hand-off and nothing written on the way down. The graceful path is the rolling
    /// restart's.
    /// </remarks>
    [Fact]
    public async Task Full_stop_by_kill_9_of_every_member_and_start_restores_every_connection_table()
    {
        await using var cluster = await MultiNodeCluster.StartAsync(SpecOutput.Options("full-stop", output));
        var traffic = cluster.StartTraffic();
        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)));

        var before = await cluster.Step("hold the traffic, wait until every established connection is synced, read every table", async () =>
        {
            await traffic.HoldAsync(TimeSpan.FromSeconds(30));
            await Eventually.Until(() =>
            {
                var established = traffic.Established();
                var synced = traffic.SyncedConnections(DateTime.UtcNow);
                var behind = established.Where(e => synced[e.Key].Count < e.Value).Select(e => $"VS {e.Key} {synced[e.Key].Count}/{e.Value}").ToArray();
                return Task.FromResult(behind.Length == 0 ? null : "not yet synced: " + string.Join(", ", behind));
            }, TimeSpan.FromSeconds(30));
            return await cluster.ConnectionTablesAsync();
        });
        var synced = traffic.SyncedConnections(DateTime.UtcNow);
        Assert.All(synced, s => Assert.Superset(before[s.Key].Select(r => r[..r.LastIndexOf(' ')]).ToHashSet(), s.Value.ToHashSet()));
        cluster.Log($"before the stop: {before.Values.Sum(t => t.Count)} connections in {before.Count} tables");

        await cluster.Step("kill -9 every member at once", () => Task.WhenAll(cluster.Members.Select(m => cluster.KillAsync(m.Name.Value))));
        var stoppedAt = cluster.LastFaultAt;
        await cluster.Step("start every member again", () => Task.WhenAll(cluster.Members.Select(m => cluster.StartAsync(m.Name.Value))));
        var converged = await cluster.Step("the cluster forms again and every VS runs on its Active member",
            () => cluster.WaitForConvergenceAsync(cluster.Members.Select(m => m.Name.Value).ToArray(), TimeSpan.FromSeconds(120)));

        var after = await cluster.Step("read every table", () => cluster.ConnectionTablesAsync());
        cluster.Log($"after the start: {after.Values.Sum(t => t.Count)} connections in {after.Count} tables");
        foreach (var (vs, rows) in before.OrderBy(p => p.Key))
        {
            Assert.True(after.TryGetValue(vs, out var now), $"VS {vs}'s table could not be read after the start");
            var lost = rows.Except(now).ToArray();
            var gained = now.Except(rows).ToArray();
            Assert.True(lost.Length == 0 && gained.Length == 0,
                $"VS {vs}: table differs after the restart: {lost.Length} rows lost (e.g. {string.Join("; ", lost.Take(3))}), {gained.Length} rows new (e.g. {string.Join("; ", gained.Take(3))})");
        }

        traffic.Resume();
        var gaps = await cluster.Step("traffic again: every VS accepts the keep-alives of its restored connections", async () =>
        {
            var g = await traffic.WaitForGapsAsync(cluster.VirtualSystemIds, stoppedAt, TimeSpan.FromSeconds(30));
            foreach (var vs in cluster.VirtualSystemIds)
                Assert.True(traffic.OutOfStateSince(vs, stoppedAt) == 0, $"VS {vs} dropped keep-alives of restored connections as out of state");
            return g;
        });
        var report = await cluster.Step("check", () => cluster.CheckAsync(converged, synced, gaps));
        cluster.AssertClean(report);
    }
}
