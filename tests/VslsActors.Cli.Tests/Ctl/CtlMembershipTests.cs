using System.Text.Json;

namespace VslsActors.Cli.Tests.Ctl;

/// <summary>
/// Three members with no automatic downing (no split-brain resolver, no closed-port downing): the
/// setting where an operator downs members by hand, so an unreachable member stays unreachable until
/// <c>cluster down-unreachable</c>. Its own cluster, because its test takes members out.
/// </summary>
public sealed class ManualDowningCluster() : ManagedCluster("akka.cluster.downing-provider-class = \"\"\nvsls.placement.down-closed-members.enabled = off\n");

/// <summary>
/// <c>vsls ctl cluster leave | down | down-unreachable</c> against three real members: each takes the
/// member out as the other members see it through their own API; unknown members are refused with one
/// line, exit 2, and the membership unchanged.
/// </summary>
[Collection("ctl cluster")]
public sealed class CtlMembershipTests(ManualDowningCluster cluster) : IClassFixture<ManualDowningCluster>
{
    private Task<CliRun.Result> Ctl(string member, params string[] args) =>
        CliRun.InProcessAsync(["ctl", "-e", cluster.Api[member], "--token", ManagedCluster.Secret, .. args]);

    /// <summary>The members <paramref name="asked"/> lists (a name may appear twice: an old and a new incarnation).</summary>
    private async Task<List<(string Name, string Status, bool Reachable)>> MembersSeenByAsync(string asked)
    {
        var json = await ManagedCluster.GetJsonAsync(cluster.Api[asked], "cluster");
        return json.GetProperty("members").EnumerateArray()
            .Select(m => (m.GetProperty("member").GetString()!, m.GetProperty("status").GetString()!, m.GetProperty("reachable").GetBoolean()))
            .ToList();
    }

    private async Task<bool> AllUpAsync(string asked)
    {
        var members = await MembersSeenByAsync(asked);
        return members.Select(m => m.Name).Order().SequenceEqual(["member-1", "member-2", "member-3"]) && members.All(m => m is { Status: "Up", Reachable: true });
    }

    [Fact]
    public async Task Leave_down_unreachable_and_down_take_members_out_as_the_others_see_it()
    {
        // Bad input first: nothing may change.
        foreach (var args in new[] { new[] { "cluster", "leave", "member-9" }, ["cluster", "down", "member-9"] })
        {
            var r = await Ctl("member-1", args);
            Assert.True(r.ExitCode == 2, $"{string.Join(" ", args)}: exit {r.ExitCode} ({r.Error})");
            Assert.Equal("vsls ctl: unknown member 'member-9' (not in the cluster)", Assert.Single(r.ErrorLines));
        }
        var noArgument = await Ctl("member-1", "cluster", "down");
        Assert.Equal(2, noArgument.ExitCode);
        Assert.Contains("expects <member>", Assert.Single(noArgument.ErrorLines));
        var none = await Ctl("member-1", "cluster", "down-unreachable");
        Assert.True(none.ExitCode == 0, none.Error);
        Assert.Equal("no unreachable member", none.Output.Trim());
        Assert.True(await AllUpAsync("member-2"));

        // leave: member-3 goes gracefully; member-2 sees it removed.
        var leave = await Ctl("member-1", "cluster", "leave", "member-3");
        Assert.True(leave.ExitCode == 0, leave.Error);
        Assert.Equal("member-3 asked to leave", leave.Output.Trim());
        await ManagedCluster.EventuallyAsync(async () => (await MembersSeenByAsync("member-2")).All(m => m.Name != "member-3"),
            TimeSpan.FromSeconds(30), "member-2 sees member-3 removed after its leave");

        // A new incarnation of member-3 joins; then it is cut off (no leave): the others mark it
        // unreachable and, with no automatic downing here, it stays so until down-unreachable.
        await cluster.StartMemberAsync("member-3");
        await ManagedCluster.EventuallyAsync(() => AllUpAsync("member-1"), TimeSpan.FromSeconds(30), "member-3 back Up");
        await cluster.KillMemberAsync("member-3");
        await ManagedCluster.EventuallyAsync(async () =>
            (await MembersSeenByAsync("member-1")).Any(m => m is { Name: "member-3", Reachable: false }),
            TimeSpan.FromSeconds(30), "member-1 sees member-3 unreachable");
        var show = await Ctl("member-1", "cluster", "show");
        Assert.Matches(@"member-3\s+akka\.tcp://\S+\s+Up\s+no\s", show.Output);

        var downed = await Ctl("member-1", "cluster", "down-unreachable", "--json");
        Assert.True(downed.ExitCode == 0, downed.Error);
        using (var doc = JsonDocument.Parse(downed.Output))
            Assert.Equal(["member-3"], doc.RootElement.GetProperty("downed").EnumerateArray().Select(e => e.GetString()));
        await ManagedCluster.EventuallyAsync(async () => (await MembersSeenByAsync("member-2")).All(m => m.Name != "member-3"),
            TimeSpan.FromSeconds(30), "member-2 sees member-3 downed and removed");

        // down: a reachable member, marked down from another one.
        var down = await Ctl("member-1", "cluster", "down", "member-2");
        Assert.True(down.ExitCode == 0, down.Error);
        Assert.Equal("member-2 marked down", down.Output.Trim());
        await ManagedCluster.EventuallyAsync(async () => (await MembersSeenByAsync("member-1")).Select(m => m.Name).SequenceEqual(["member-1"]),
            TimeSpan.FromSeconds(30), "member-1 alone after member-2 was downed");
    }
}
