using VslsActors.MultiNode.Harness;
using VslsActors.Node;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>
/// A hung member (SIGSTOP): the others down it and take its VSs; resumed (SIGCONT), it learns it was
/// downed and exits with <see cref="NodeExitCodes.RemovedFromCluster"/>; restarted, it rejoins and,
/// under primary-up, gets its VSs back with every synced connection.
/// </summary>
public sealed class HungMemberSpec(ITestOutputHelper output)
{
    [Fact]
    public async Task A_hung_member_is_downed_its_VSs_fail_over_and_after_SIGCONT_it_exits_then_rejoins_and_gets_them_back()
    {
        await using var cluster = await MultiNodeCluster.StartAsync(SpecOutput.Options("hung-member", output));
        var traffic = cluster.StartTraffic();
        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(30)));

        var (victim, victimVss) = await cluster.NonCoordinatorVictimAsync();
        var synced = traffic.SyncedConnections(DateTime.UtcNow);

        await cluster.Step($"SIGSTOP {victim} (runs VSs {string.Join(",", victimVss)})", () => cluster.PauseAsync(victim));
        var faultAt = cluster.LastFaultAt;
        var others = cluster.Members.Select(m => m.Name.Value).Where(m => m != victim).ToArray();
        await cluster.Step($"{string.Join(" and ", others)} down it and run every VS", () => cluster.WaitForConvergenceAsync(others, TimeSpan.FromSeconds(45)));
        var gaps = await cluster.Step("every VS of the hung member accepts traffic again",
            () => traffic.WaitForGapsAsync(victimVss, faultAt, TimeSpan.FromSeconds(30)));

        await cluster.Step($"SIGCONT {victim}", () => cluster.ResumeAsync(victim));
        var code = await cluster.Step($"{victim} learns it was downed and exits with RemovedFromCluster ({NodeExitCodes.RemovedFromCluster})",
            () => cluster.WaitForExitAsync(victim, TimeSpan.FromSeconds(30)));
        Assert.True(code == NodeExitCodes.RemovedFromCluster, $"{victim} exit code {code?.ToString() ?? "none (still running)"}\n{cluster.Tails()}");

        await cluster.Step($"restart {victim}", () => cluster.StartAsync(victim));
        var convergedAt = await cluster.Step($"{victim} rejoins and, under primary-up, runs its VSs again",
            () => cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(60)));
        Assert.Equal(victimVss.Order(), (await cluster.RunningOnAsync(victim)).Order());

        var report = await cluster.Step("check", () => cluster.CheckAsync(convergedAt, synced, gaps));
        cluster.AssertClean(report);
    }
}
