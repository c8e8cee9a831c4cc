using VslsActors.Cluster.Tests.Support;
using VslsActors.Domain;
using VslsActors.Domain.Placement;

namespace VslsActors.Cluster.Tests.Sharding;

/// <summary>In-process 3-member clusters: VSs run where placement puts them, started by the keeper.</summary>
[Collection(ClusterCollection.Name)]
public sealed class PlacementClusterTests
{
    private static readonly string[] Members = ["member-1", "member-2", "member-3"];

    [Fact]
    public async Task Every_vs_starts_on_the_first_member_of_its_priority_list_without_traffic()
    {
        var topology = TestTopologies.Manual(Members,
            ["member-1,member-2,member-3", "member-2,member-3,member-1", "member-3,member-1,member-2", "member-2,member-1,member-3"]);
        await using var cluster = new VslsTestCluster(topology);
        await cluster.StartAsync(Members);

        // The keeper alone starts them: nothing has been sent to any VS yet.
        string[] expected = ["member-1", "member-2", "member-3", "member-2"];
        await VslsTestCluster.Eventually(
            () => Enumerable.Range(1, 4).All(i => LatestStart(cluster, i) == expected[i - 1]),
            TimeSpan.FromSeconds(20),
            "each VS started on its first member: " + string.Join(", ", cluster.Starts));

        for (var i = 1; i <= 4; i++)
            Assert.Equal(expected[i - 1], await cluster.ActiveMemberAsync(new VsId(i), "member-3"));
    }

    [Fact]
    public async Task Equal_distribution_runs_each_vs_where_the_generated_lists_put_it()
    {
        var topology = TestTopologies.Manual(Members, ["", "", "", "", "", ""], distribution: "equal");
        var allUp = Members.ToDictionary(m => new MemberName(m), _ => MemberState.Up);
        var placement = PlacementCalculator.Compute(topology, allUp, null);
        // Equal weights over 3 members: 2 VSs Active on each.
        Assert.All(Members, m => Assert.Equal(2, placement.ActiveOn(new MemberName(m)).Length));

        await using var cluster = new VslsTestCluster(topology);
        await cluster.StartAsync(Members);
        foreach (var p in placement.Vss)
            await cluster.AwaitActiveAsync(p.Vs, p.Active!.Value.Value);
    }

    [Fact]
    public async Task All_on_distribution_runs_every_vs_on_that_member()
    {
        var topology = TestTopologies.Manual(Members, ["member-1", "member-3", "member-1,member-3"], distribution: "all-on", allOnMember: "member-2");
        await using var cluster = new VslsTestCluster(topology);
        await cluster.StartAsync(Members);
        for (var i = 1; i <= 3; i++)
            await cluster.AwaitActiveAsync(new VsId(i), "member-2");
    }

    private static string? LatestStart(VslsTestCluster cluster, int vs) =>
        cluster.Starts.LastOrDefault(s => s.VsId.Value == vs)?.Member;
}
