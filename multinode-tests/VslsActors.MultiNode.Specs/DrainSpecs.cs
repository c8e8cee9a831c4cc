using VslsActors.MultiNode.Harness;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>
/// <c>vsls ctl member drain</c> under traffic moves every VS off the member by graceful hand-off with no
/// connection lost; <c>member undrain</c> brings them back (primary-up).
/// </summary>
public sealed class DrainSpecs(ITestOutputHelper output)
{
    [Fact]
    public async Task Member_drain_moves_every_VS_off_with_no_connection_lost_and_undrain_brings_them_back()
    {
        await using var cluster = await MultiNodeCluster.StartAsync(SpecOutput.Options("drain-undrain", output));
        var traffic = cluster.StartTraffic();
        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)));

        const string target = "member-1";
        var home = await cluster.RunningOnAsync(target);
        Assert.NotEmpty(home);
        var syncedBeforeDrain = traffic.SyncedConnections(DateTime.UtcNow);
        var drainAt = DateTime.UtcNow;

        await cluster.Step($"vsls ctl member drain {target} (it runs VSs {string.Join(",", home)})", async () =>
        {
            var (code, text) = await cluster.CtlAsync("member-2", "member", "drain", target);
            Assert.True(code == 0, $"member drain exited with {code}: {text}");
        });
        var drainedAt = await cluster.Step($"no VS runs on {target}; the cluster converges with all three members Up", async () =>
        {
            await Eventually.Until(async () =>
            {
                var left = await cluster.RunningOnAsync(target);
                return left.Count == 0 ? null : $"{target} still runs VSs {string.Join(",", left)}";
            }, TimeSpan.FromSeconds(60));
            return await cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(60));
        });
        var vss = await cluster.VirtualSystemsAsync();
        Assert.All(vss, v => Assert.NotEqual(target, v.Active));
        var drainGaps = await cluster.Step("every drained VS accepts traffic on its new member", () => traffic.WaitForGapsAsync(home, drainAt, TimeSpan.FromSeconds(30)));
        var afterDrain = await cluster.Step("check after the drain", () => cluster.CheckAsync(drainedAt, syncedBeforeDrain, drainGaps));
        cluster.AssertClean(afterDrain);

        var syncedBeforeUndrain = Eventually.Union(syncedBeforeDrain, traffic.SyncedConnections(DateTime.UtcNow));
        var undrainAt = DateTime.UtcNow;
        await cluster.Step($"vsls ctl member undrain {target}", async () =>
        {
            var (code, text) = await cluster.CtlAsync("member-3", "member", "undrain", target);
            Assert.True(code == 0, $"member undrain exited with {code}: {text}");
        });
        var backAt = await cluster.Step($"VSs {string.Join(",", home)} run on {target} again (primary-up)", async () =>
        {
            await Eventually.Until(async () =>
            {
                var now = await cluster.RunningOnAsync(target);
                return home.All(now.Contains) ? null : $"{target} runs [{string.Join(",", now)}], not yet [{string.Join(",", home)}]";
            }, TimeSpan.FromSeconds(60));
            return await cluster.WaitForConvergenceAsync(timeout: TimeSpan.FromSeconds(60));
        });
        var backGaps = await cluster.Step("every returned VS accepts traffic on its home member", () => traffic.WaitForGapsAsync(home, undrainAt, TimeSpan.FromSeconds(30)));
        var report = await cluster.Step("check after the undrain", () => cluster.CheckAsync(backAt, syncedBeforeUndrain, backGaps));
        cluster.AssertClean(report);
    }
}
