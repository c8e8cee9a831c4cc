using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Tests.Support;
using VslsActors.Domain;
using Xunit.Abstractions;

namespace VslsActors.Cluster.Tests.Sharding;

/// <summary>Failover, graceful hand-over and failback of VSs between in-process members.</summary>
[Collection(ClusterCollection.Name)]
public sealed class FailoverClusterTests(ITestOutputHelper output)
{
    private static readonly string[] Members = ["member-1", "member-2", "member-3"];

    // VS 1 Active on member-1, VS 2 on member-2 (Standby member-3), VS 3 on member-3 (Standby member-1).
    private static readonly string[] Priorities = ["member-1,member-2,member-3", "member-2,member-3,member-1", "member-3,member-1,member-2"];

    [Fact]
    public async Task Vss_of_a_killed_member_become_active_on_their_standby()
    {
        await using var cluster = new VslsTestCluster(TestTopologies.Manual(Members, Priorities));
        await cluster.StartAsync(Members);
        await cluster.AwaitActiveAsync(new VsId(2), "member-2");

        var timeline = await KillAndMeasure(cluster, "member-2", new VsId(2), "member-3", via: "member-1");

        output.WriteLine("kill member-2 (not the oldest): " + timeline);
        await cluster.AwaitActiveAsync(new VsId(1), "member-1");
        await cluster.AwaitActiveAsync(new VsId(3), "member-3");
    }

    [Fact]
    public async Task Vss_of_the_killed_oldest_member_fail_over_with_the_coordinator_and_singletons()
    {
        await using var cluster = new VslsTestCluster(TestTopologies.Manual(Members, Priorities));
        await cluster.StartAsync(Members);
        await cluster.AwaitActiveAsync(new VsId(1), "member-1");

        // member-1 is the oldest: it hosts the shard coordinator, the registry and the keeper too.
        var timeline = await KillAndMeasure(cluster, "member-1", new VsId(1), "member-2", via: "member-3");

        output.WriteLine("kill member-1 (the oldest): " + timeline);
        await cluster.AwaitActiveAsync(new VsId(3), "member-3");
    }

    [Fact]
    public async Task Without_the_closed_port_path_the_failure_detector_and_split_brain_resolver_fail_over()
    {
        // What a frozen process or a partition goes through: nothing but missed heartbeats.
        await using var cluster = new VslsTestCluster(TestTopologies.Manual(Members, Priorities),
            extraHocon: "vsls.placement.down-closed-members.enabled = off");
        await cluster.StartAsync(Members);
        await cluster.AwaitActiveAsync(new VsId(2), "member-2");

        var timeline = await KillAndMeasure(cluster, "member-2", new VsId(2), "member-3", via: "member-1");

        output.WriteLine("kill member-2, failure detector + SBR only: " + timeline);
    }

    [Fact]
    public async Task A_member_that_leaves_gracefully_hands_its_vss_to_their_standby()
    {
        await using var cluster = new VslsTestCluster(TestTopologies.Manual(Members, Priorities));
        await cluster.StartAsync(Members);
        await cluster.AwaitActiveAsync(new VsId(2), "member-2");

        var sw = Stopwatch.StartNew();
        await cluster.LeaveAsync("member-2");
        await cluster.AwaitActiveAsync(new VsId(2), "member-3");
        output.WriteLine($"graceful leave of member-2: VS 2 answered from member-3 {sw.ElapsedMilliseconds} ms after the leave started");
        await cluster.AwaitActiveAsync(new VsId(1), "member-1");
    }

    [Fact]
    public async Task Primary_up_moves_a_vs_back_when_its_first_member_returns()
    {
        await using var cluster = new VslsTestCluster(TestTopologies.Manual(Members, Priorities, failback: "primary-up"));
        await cluster.StartAsync(Members);
        await cluster.AwaitActiveAsync(new VsId(3), "member-3");

        await cluster.KillAsync("member-3");
        await cluster.AwaitActiveAsync(new VsId(3), "member-1");

        await cluster.StartAsync("member-3");
        await cluster.AwaitActiveAsync(new VsId(3), "member-3");
    }

    [Fact]
    public async Task Active_up_keeps_a_vs_on_its_current_member_when_its_first_member_returns()
    {
        await using var cluster = new VslsTestCluster(TestTopologies.Manual(Members, Priorities, failback: "active-up"));
        await cluster.StartAsync(Members);
        await cluster.AwaitActiveAsync(new VsId(3), "member-3");

        await cluster.KillAsync("member-3");
        await cluster.AwaitActiveAsync(new VsId(3), "member-1");

        await cluster.StartAsync("member-3");
        // Wait until member-3's region is registered with the coordinator: from then on a rebalance
        // could move VS 3 there, and active-up must not.
        await VslsTestCluster.Eventually(async () =>
        {
            var regions = await cluster["member-1"].Region.Ask<Akka.Cluster.Sharding.CurrentRegions>(
                Akka.Cluster.Sharding.GetCurrentRegions.Instance, TimeSpan.FromSeconds(3));
            return regions.Regions.Count == 3;
        }, TimeSpan.FromSeconds(20), () => "three regions registered with the coordinator");

        // A rebalance runs every second; under primary-up the VS would move within about two of them.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(4);
        while (DateTime.UtcNow < until)
        {
            Assert.Equal("member-1", await cluster.ActiveMemberAsync(new VsId(3), "member-2"));
            await Task.Delay(250);
        }
    }

    /// <summary>
    /// Kills <paramref name="victim"/> and samples, from <paramref name="via"/>, when it is seen
    /// unreachable, downed, removed, and when <paramref name="vs"/> first answers from
    /// <paramref name="standby"/>. Fails when the VS does not come back within 15 s.
    /// </summary>
    private static async Task<string> KillAndMeasure(VslsTestCluster cluster, string victim, VsId vs, string standby, string via)
    {
        var observer = cluster[via];
        var victimAddress = cluster[victim].Address;
        var cl = Akka.Cluster.Cluster.Get(observer.System);
        long unreachable = -1, downed = -1, removed = -1, answered = -1;
        var sw = new Stopwatch();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));

        var membership = Task.Run(async () =>
        {
            while (removed < 0 && !cts.IsCancellationRequested)
            {
                var state = cl.State;
                var m = state.Members.FirstOrDefault(x => x.Address == victimAddress);
                if (unreachable < 0 && state.Unreachable.Any(x => x.Address == victimAddress))
                    unreachable = sw.ElapsedMilliseconds;
                if (downed < 0 && (m?.Status == MemberStatus.Down || state.Unreachable.Any(x => x.Address == victimAddress && x.Status == MemberStatus.Down)))
                    downed = sw.ElapsedMilliseconds;
                if (m is null && state.Unreachable.All(x => x.Address != victimAddress))
                    removed = sw.ElapsedMilliseconds;
                await Task.Delay(5);
            }
        });

        sw.Start();
        await cluster.KillAsync(victim);
        var killed = sw.ElapsedMilliseconds;
        while (answered < 0)
        {
            cts.Token.ThrowIfCancellationRequested();
            try
            {
                var status = await observer.Region.Ask<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(vs), TimeSpan.FromMilliseconds(200));
                if (status.Member == standby)
                    answered = sw.ElapsedMilliseconds;
            }
            catch (AskTimeoutException)
            {
                // The VS is between members: ask again.
            }
        }
        await membership;
        return $"terminated {killed} ms, unreachable {unreachable} ms, downed {downed} ms, removed {removed} ms, VS {vs} answered from {standby} {answered} ms";
    }
}
