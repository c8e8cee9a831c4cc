using VslsActors.MultiNode.Harness;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>
/// kill -9 of one member under traffic: its VSs come up on their Standby members with every synced
/// connection, no VS is ever Active twice, the journal stays gap-free. Once for a member that is not
/// the shard coordinator, once for the one that is (the coordinator and the registry move too).
/// </summary>
public sealed class KillFailoverSpecs(ITestOutputHelper output)
{
    [Fact]
    public Task Kill_9_of_a_member_that_is_not_the_coordinator_fails_its_VSs_over_with_every_synced_connection() =>
        KillStory("kill-non-coordinator", coordinator: false);

    [Fact]
    public Task Kill_9_of_the_coordinator_fails_its_VSs_over_and_moves_the_coordinator_with_every_synced_connection() =>
        KillStory("kill-coordinator", coordinator: true);

    private async Task KillStory(string name, bool coordinator)
    {
        await using var cluster = await MultiNodeCluster.StartAsync(SpecOutput.Options(name, output));
        var traffic = cluster.StartTraffic();

        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(30)));

        var (victim, coordinatorName) = await cluster.Step("choose the victim", async () =>
        {
            var c = await cluster.CoordinatorAsync();
            var v = coordinator ? c : cluster.Members.Select(m => m.Name.Value).Last(m => m != c);
            return (v, c);
        });
        var victimVss = await cluster.RunningOnAsync(victim);
        Assert.NotEmpty(victimVss);

        var synced = traffic.SyncedConnections(DateTime.UtcNow);
        await cluster.Step($"kill -9 {victim} ({(coordinator ? "the" : "not the")} coordinator; coordinator is {coordinatorName}; it runs VSs {string.Join(",", victimVss)})",
            () => cluster.KillAsync(victim));
        var faultAt = cluster.LastFaultAt;

        var convergedAt = await cluster.Step("the survivors converge: every VS runs on its new Active member",
            () => cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(45)));

        if (coordinator)
        {
            var now = await cluster.CoordinatorAsync();
            Assert.NotEqual(victim, now);
        }

        var gaps = await cluster.Step("every VS of the victim accepts traffic again",
            () => traffic.WaitForGapsAsync(victimVss, faultAt, TimeSpan.FromSeconds(30)));

        var report = await cluster.Step("check", () => cluster.CheckAsync(convergedAt, synced, gaps));
        cluster.AssertClean(report);
    }
}
