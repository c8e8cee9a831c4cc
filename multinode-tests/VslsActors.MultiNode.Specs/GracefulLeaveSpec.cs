using VslsActors.MultiNode.Harness;
using VslsActors.Node;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>SIGTERM: the member leaves gracefully, its VSs hand over with zero connections lost, it exits 0.</summary>
public sealed class GracefulLeaveSpec(ITestOutputHelper output)
{
    [Fact]
    public Task A_member_stopped_with_SIGTERM_hands_its_VSs_over_with_zero_connections_lost_and_exits_0() =>
        Story(SpecOutput.Options("graceful-leave", output));

    [Fact]
    public Task On_PostgreSQL_a_member_stopped_with_SIGTERM_hands_its_VSs_over_with_zero_connections_lost() =>
        // VSLS_TEST_POSTGRES, or the machine's PostgreSQL started by .ci/postgres-up; never skipped. A fresh schema per run.
        Story(SpecOutput.Options("graceful-leave-postgres", output) with { PostgresConnectionString = VslsActors.TestSupport.PostgresTestServer.ConnectionString });

    private static async Task Story(MultiNodeOptions options)
    {
        await using var cluster = await MultiNodeCluster.StartAsync(options);
        var traffic = cluster.StartTraffic();
        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(30)));

        const string victim = "member-2";
        var victimVss = await cluster.RunningOnAsync(victim);
        Assert.NotEmpty(victimVss);
        var synced = traffic.SyncedConnections(DateTime.UtcNow);

        var code = await cluster.Step($"SIGTERM {victim} (runs VSs {string.Join(",", victimVss)})", () => cluster.StopGracefullyAsync(victim, TimeSpan.FromSeconds(60)));
        Assert.True(code == NodeExitCodes.Ok, $"{victim} exit code {code?.ToString() ?? "none (still running)"}\n{cluster.Tails()}");
        var faultAt = cluster.LastFaultAt;

        var convergedAt = await cluster.Step("the others run every VS", () => cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(45)));
        var gaps = await cluster.Step("every VS of the member that left accepts traffic again",
            () => traffic.WaitForGapsAsync(victimVss, faultAt, TimeSpan.FromSeconds(30)));
        foreach (var vs in victimVss)
            Assert.Equal(0, traffic.OutOfStateSince(vs, faultAt));

        var report = await cluster.Step("check", () => cluster.CheckAsync(convergedAt, synced, gaps));
        cluster.AssertClean(report);
    }
}
