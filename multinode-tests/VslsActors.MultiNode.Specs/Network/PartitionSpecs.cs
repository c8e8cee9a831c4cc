using VslsActors.Domain;
using VslsActors.MultiNode.Harness;
using VslsActors.MultiNode.Network;
using VslsActors.MultiNode.Traffic;
using VslsActors.Node;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs.Network;

/// <summary>
/// Partition 2 | 1 with a real dropped-packet partition: three members, each in its own network
/// namespace of a <see cref="NetworkLab"/>, traffic on every VS, then iptables DROP between one member
/// and the other two. The majority keeps serving every VS, the minority downs itself (its process ends
/// with RemovedFromCluster), no VS is Active on both sides, synced connections of the minority's VSs
/// survive on the majority; after heal the minority member is started again and rejoins. The story
/// runs twice on one cluster: first a member that is not the shard coordinator is cut off, then the
/// coordinator itself (the oldest member, where the coordinator and the registry singleton live).
/// Needs root for the lab (it fails at once saying why otherwise); SQLite, because the database file is
/// shared through the filesystem, which network namespaces do not isolate.
/// </summary>
public sealed class PartitionSpecs(ITestOutputHelper output)
{
    private static readonly MemberName[] Members = [new("member-1"), new("member-2"), new("member-3")];

    [Fact]
    public async Task Partition_2_1_majority_keeps_serving_minority_downs_itself_no_VS_on_both_sides_then_heals_and_rejoins_also_with_the_coordinator_cut_off()
    {
        await using var lab = await NetworkLab.CreateAsync(Members);
        await using var cluster = await MultiNodeCluster.StartAsync(SpecOutput.Options("partition-2-1", output) with
        {
            Members = Members,
            Launch = m => new MemberLaunch(lab[m].Host, lab[m].CommandPrefix),
        });
        cluster.Log($"network lab {lab.RunId}: bridge {lab.BridgeName} {lab.BridgeAddress}/24; " +
                    string.Join(", ", lab.Members.Select(m => $"{m.Name} {m.Address} in {m.Namespace}")));
        var traffic = cluster.StartTraffic();
        await cluster.Step("every VS has its connections established and synced", () => traffic.WaitForSyncedAsync(TimeSpan.FromSeconds(60)));

        var syncedBefore = traffic.SyncedConnections(DateTime.UtcNow);

        var gaps = new Dictionary<int, TimeSpan?>();

        var coordinator = await cluster.CoordinatorAsync();
        await PartitionAndRejoin(lab, cluster, traffic, Members.Select(m => m.Value).Last(m => m != coordinator), "a member that is not the coordinator", gaps);
        var convergedAt = await PartitionAndRejoin(lab, cluster, traffic, await cluster.CoordinatorAsync(), "the coordinator (oldest member)", gaps);

        var report = await cluster.Step("checker: no VS Active on two members, placement after convergence, no synced connection lost, journal gap-free",
            () => cluster.CheckAsync(convergedAt, syncedBefore, gaps));
        cluster.AssertClean(report);
    }

    /// <summary>One act: cut <paramref name="minority"/> off from the other two, watch both sides, heal, restart it. Returns when the whole cluster converged again.</summary>
    private static async Task<DateTime> PartitionAndRejoin(NetworkLab lab, MultiNodeCluster cluster, TrafficDriver traffic, string minority, string who, Dictionary<int, TimeSpan?> gaps)
    {
        var majority = Members.Select(m => m.Value).Where(m => m != minority).ToArray();
        var minorityVss = await cluster.RunningOnAsync(minority);
        var synced = traffic.SyncedConnections(DateTime.UtcNow);
        var faultAt = await cluster.Step($"partition {{{string.Join(", ", majority)}}} | {{{minority}}}: {who} cut off (iptables DROP both ways); it ran VSs {string.Join(", ", minorityVss)}", async () =>
        {
            // The traffic source stands on the majority's side of the cut, as the upstream network of the
            // surviving site would: from now on batches go to the majority's ingress only. (Through the
            // minority's own ingress its VSs would keep answering until it downs itself, which would hide
            // the failover gap.)
            cluster.SetTrafficAvailable(minority, false);
            await lab.PartitionAsync(majority.Select(m => new MemberName(m)), [new MemberName(minority)]);
            cluster.Event($"partition: {string.Join(", ", lab.ActiveRules)}");
            return DateTime.UtcNow;
        });

        await cluster.Step($"the minority {minority} downs itself: its process ends with RemovedFromCluster ({NodeExitCodes.RemovedFromCluster})", async () =>
        {
            var exit = await cluster.WaitForExitAsync(minority, TimeSpan.FromSeconds(45));
            Assert.True(exit == NodeExitCodes.RemovedFromCluster,
                $"{minority} on the minority side: expected exit {NodeExitCodes.RemovedFromCluster} (RemovedFromCluster), got {exit?.ToString() ?? "still running after 45 s"}\n{cluster.Tails()}");
        });

        await cluster.Step($"the majority {{{string.Join(", ", majority)}}} runs every VS, answers traffic on each, and kept the minority's synced connections", async () =>
        {
            await cluster.WaitForConvergenceAsync(majority, TimeSpan.FromSeconds(45));
            var vss = await cluster.VirtualSystemsAsync();
            Assert.All(vss, v => Assert.Contains(v.RunningOn, majority));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            int[] unanswered;
            while ((unanswered = [.. cluster.VirtualSystemIds.Where(vs => traffic.Gap(vs, faultAt) is null)]).Length > 0 && DateTime.UtcNow < deadline)
                await Task.Delay(200);
            Assert.True(unanswered.Length == 0, $"no traffic answered after the partition on VSs {string.Join(", ", unanswered)}");
            foreach (var vs in minorityVss)
                gaps[vs] = traffic.Gap(vs, faultAt);
            cluster.Log("failover gaps (partition to first answer on the majority): " + string.Join(", ", minorityVss.Select(vs => $"VS {vs} {gaps[vs]!.Value.TotalSeconds:0.00} s")));
            foreach (var vs in minorityVss)
            {
                var table = (await cluster.ReadAsync(a => a.ConnectionsAsync(vs, TimeSpan.FromSeconds(10)), majority[0])).Select(c => c.Key).ToHashSet();
                var lost = synced[vs].Where(k => !table.Contains(k)).ToArray();
                Assert.True(lost.Length == 0, $"VS {vs} lost {lost.Length} of {synced[vs].Count} synced connections on the majority: {string.Join("; ", lost.Take(5))}");
            }
        });

        return await cluster.Step($"heal, start {minority} again: it rejoins and the cluster converges", async () =>
        {
            await lab.HealAsync();
            Assert.Empty(lab.ActiveRules);
            await cluster.StartAsync(minority);
            cluster.SetTrafficAvailable(minority, true);
            await cluster.WaitForConvergenceAsync(Members.Select(m => m.Value).ToArray(), TimeSpan.FromSeconds(60));
            // Converged for sure from here on: the time WaitForConvergenceAsync returns is when its first
            // passing check *began*, and under load a check takes seconds while the rejoining member's
            // VSs are still moving back (the placement rule then flags samples taken during that check).
            return DateTime.UtcNow;
        });
    }
}
