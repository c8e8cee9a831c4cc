using Microsoft.Data.Sqlite;
using VslsActors.MultiNode.Harness;
using VslsActors.MultiNode.Traffic;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>
/// The database goes away under traffic and comes back. What the members do meanwhile (docs/multinode.md,
/// "Database outage"): every VS keeps running where it is; a batch is answered only once what it
/// journaled is durable, so batches that open connections — and the keep-alives queued behind them in
/// the same VS — wait, are answered "unanswered" after the ingress's ask timeout, and the VS retries its
/// write with backoff; no member process exits. Once the database is back everything converges, every
/// connection synced before the outage is still there, the journal is gap-free, and the connections
/// that could not open during the outage open.
/// </summary>
public sealed class DatabaseOutageSpecs(ITestOutputHelper output)
{
    /// <summary>Longer than the member's 10 s ask timeout, so that the outage is felt by the traffic.</summary>
    private static readonly TimeSpan s_outage = TimeSpan.FromSeconds(12);

    /// <remarks>
    /// PostgreSQL: the members run on a <see cref="PrivatePostgres"/> server of their own, and the outage is that
    /// server crash-stopped (<c>pg_ctl stop -m immediate</c>: every server process quits at once, every member's
    /// connection is cut, no checkpoint) and, after the outage, started again (<c>pg_ctl start</c>, which replays
    /// the WAL: crash recovery). A private server because the machine's shared one (<c>pg_ctlcluster 15 main</c>)
    /// serves other test projects that may run at the same time; it needs root (initdb and the server run as the
    /// <c>postgres</c> user), and says so by name when it does not have it.
    /// </remarks>
    [Fact]
    public async Task PostgreSQL_server_crash_stop_and_restart_under_traffic_delays_writes_and_everything_converges_with_no_synced_connection_lost_after_it()
    {
        await using var server = await PrivatePostgres.StartAsync(output.WriteLine);
        var options = SpecOutput.Options("db-outage-postgres", output) with { PostgresConnectionString = server.ConnectionString };
        await OutageStory(options, $"the members' PostgreSQL server (private, 127.0.0.1:{server.Port}, postmaster pid {server.PostmasterPid()}) is crash-stopped: pg_ctl stop -m immediate",
            begin: async cluster =>
            {
                await server.StopAsync(PostgresStopMode.Immediate);
                return async () =>
                {
                    await server.StartAgainAsync();
                    var recovery = server.ServerLog().Split('\n').Where(l => l.Contains("recovery", StringComparison.Ordinal) || l.Contains("redo ", StringComparison.Ordinal));
                    cluster.Log($"pg_ctl start: postmaster pid {server.PostmasterPid()}; {string.Join(" / ", recovery.Select(l => l[(l.IndexOf("LOG:", StringComparison.Ordinal) + 4)..].Trim()))}");
                };
            });
        // The restart was a crash recovery (WAL replayed), so the journal the checker found whole is what survived a crash.
        Assert.Contains("database system was not properly shut down; automatic recovery in progress", server.ServerLog());
    }

    /// <remarks>SQLite: the test holds an exclusive lock on the members' file (<c>BEGIN EXCLUSIVE</c>), so that every read and write waits out its busy timeout and fails.</remarks>
    [Fact]
    public async Task SQLite_exclusive_lock_under_traffic_delays_writes_and_everything_converges_with_no_synced_connection_lost_after_it()
    {
        await OutageStory(SpecOutput.Options("db-outage-sqlite", output), "the test holds BEGIN EXCLUSIVE on the SQLite file",
            begin: async cluster =>
            {
                var path = cluster.DatabasePath ?? throw new InvalidOperationException("the run has no SQLite file");
                var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = 30 }.ConnectionString);
                await db.OpenAsync();
                await using (var take = db.CreateCommand())
                {
                    // The members hold short write transactions; the lock is ours once theirs end.
                    take.CommandText = "PRAGMA busy_timeout = 30000; BEGIN EXCLUSIVE";
                    await take.ExecuteNonQueryAsync();
                }
                return async () =>
                {
                    await using (var release = db.CreateCommand())
                    {
                        release.CommandText = "COMMIT";
                        await release.ExecuteNonQueryAsync();
                    }
                    await db.DisposeAsync();
                };
            });
    }

    private async Task OutageStory(MultiNodeOptions options, string what, Func<MultiNodeCluster, Task<Func<Task>>> begin)
    {
        await using var cluster = await MultiNodeCluster.StartAsync(options);
        var traffic = cluster.StartTraffic();
        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)));
        var pids = cluster.Members.ToDictionary(m => m.Name.Value, m => m.Pid);
        var homes = (await cluster.VirtualSystemsAsync()).ToDictionary(v => v.Vs, v => v.RunningOn);
        var failuresBefore = await JournalFailuresAsync(cluster);
        var synced = traffic.SyncedConnections(DateTime.UtcNow);

        var outageAt = DateTime.UtcNow;
        cluster.Log($"outage starts with {synced.Values.Sum(c => c.Count)} synced connections");
        var end = await cluster.Step($"database outage: {what}", () => begin(cluster));
        // New connections during the outage: a second driver on its own client ports opens them.
        var opener = cluster.StartTraffic(new TrafficOptions { ConnectionsPerVs = 4, OpenPerBatch = 2, FirstClientPort = 40000 });
        await cluster.Step($"the outage lasts {s_outage.TotalSeconds:0} s (members stay up, VSs stay where they are)", async () =>
        {
            var until = DateTime.UtcNow + s_outage;
            while (DateTime.UtcNow < until)
            {
                var gone = cluster.Members.Where(m => m.State != MemberRunState.Running).Select(m => $"{m.Name} (exit {m.ExitCode})").ToArray();
                Assert.True(gone.Length == 0, $"a member ended during the outage: {string.Join(", ", gone)}");
                await Task.Delay(250);
            }
        });
        var restoredAt = DateTime.UtcNow;
        await cluster.Step("the database is back", end);


        var converged = await cluster.Step("the cluster converges: every member Up, every VS on its Active member",
            () => cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(90)));
        // Measured across the database's return: from the last answer accepted before it (in the outage's
        // first instants, or before the outage) to the first accepted answer to a batch sent after it —
        // how long each VS's service was interrupted.
        var gaps = await cluster.Step("every VS accepts traffic again", () => traffic.WaitForGapsAsync(cluster.VirtualSystemIds, restoredAt, TimeSpan.FromSeconds(60)));
        await cluster.Step("the connections that could not open during the outage open and sync", () => opener.WaitForSyncedAsync(TimeSpan.FromSeconds(60)));
        // By now every batch sent during the outage has its answer (or its call's deadline passed).
        Describe(cluster, "existing connections (keep-alives)", traffic, outageAt, restoredAt);
        Describe(cluster, "new connections (handshakes)", opener, outageAt, restoredAt);
        var failures = await JournalFailuresAsync(cluster) - failuresBefore;
        cluster.Log($"journal write failures counted by the VSs over the outage: {failures}");
        Assert.True(failures > 0, "no VS counted a failed journal write: the outage did not reach the members' journal");
        foreach (var m in cluster.Members)
            Assert.Equal(pids[m.Name.Value], m.Pid);
        var after = (await cluster.VirtualSystemsAsync()).ToDictionary(v => v.Vs, v => v.RunningOn);
        Assert.Equal(homes.OrderBy(p => p.Key), after.OrderBy(p => p.Key));

        var report = await cluster.Step("check", () => cluster.CheckAsync(converged, synced, gaps));
        cluster.AssertClean(report);
    }

    private static async Task<double> JournalFailuresAsync(MultiNodeCluster cluster)
    {
        var sum = 0.0;
        foreach (var m in cluster.Running)
            sum += await cluster.Api(m.Name.Value).MetricSumAsync("vsls_vs_journal_failures_total", TimeSpan.FromSeconds(10));
        return sum;
    }

    private static void Describe(MultiNodeCluster cluster, string what, TrafficDriver driver, DateTime from, DateTime to)
    {
        var during = driver.Batches.Where(b => b.SentAt >= from && b.SentAt < to).ToArray();
        cluster.Log($"during the outage, {what}: {during.Length} batches sent, {during.Count(b => b.FullyAccepted)} fully accepted, " +
            $"{during.Count(b => b.FullyAccepted && b.AnsweredAt > to)} of those answered only after the database was back, " +
            $"{during.Count(b => b.Unanswered > 0)} with records unanswered (ask timeout), {during.Count(b => b.Error is not null)} failed calls");
    }
}
