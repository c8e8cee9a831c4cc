using VslsActors.Cluster.Registry;
using VslsActors.Cluster.Tests.Support;
using VslsActors.Domain;

namespace VslsActors.Cluster.Tests.Registry;

/// <summary>The registry singleton in an in-process cluster: changes are journaled, move VSs and survive a full restart.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RegistryClusterTests
{
    private static readonly string[] Members = ["member-1", "member-2", "member-3"];
    private static readonly string[] Priorities = ["member-1,member-2,member-3", "member-2,member-3,member-1", "member-3,member-1,member-2"];

    [Fact]
    public async Task Set_priority_moves_a_vs_by_rebalance_and_survives_a_full_cluster_restart()
    {
        var topology = TestTopologies.Manual(Members, Priorities);
        var db = VslsTestCluster.NewDatabasePath();
        try
        {
            await using (var cluster = new VslsTestCluster(topology, db))
            {
                await cluster.StartAsync(Members);
                await cluster.AwaitActiveAsync(new VsId(1), "member-1");

                var changed = await cluster.AskRegistryAsync<RegistryReplies.ConfigurationChanged>(
                    new RegistryCommands.SetPriority(new VsId(1), ["member-3", "member-1"], "test@member-2"), via: "member-2");
                Assert.Equal(1, changed.Version);

                // Every member's holder sees it (pushed), and the coordinator's strategy moves VS 1.
                await VslsTestCluster.Eventually(
                    () => Members.All(m => VslsConfigurationHolder.Get(cluster[m].System).Current.Version == 1),
                    TimeSpan.FromSeconds(10), "every member at configuration version 1");
                await cluster.AwaitActiveAsync(new VsId(1), "member-3");
            }

            // A new cluster on the same database: the journal wins over the topology file.
            await using (var restarted = new VslsTestCluster(topology, db))
            {
                await restarted.StartAsync(Members);
                var config = await restarted.AskRegistryAsync<RegistryReplies.CurrentConfiguration>(RegistryCommands.GetConfiguration.Instance);
                Assert.Equal(1, config.Version);
                Assert.Equal("member-3", config.Parse(topology.Members).Entries.Single(e => e.Vs == new VsId(1)).Members[0].Value);
                await restarted.AwaitActiveAsync(new VsId(1), "member-3");
                // VS 1 was started on member-3 directly: the first allocation waited for the registry.
                Assert.DoesNotContain(restarted.Starts, s => s.VsId == new VsId(1) && s.Member != "member-3");

                // The audit trail outlives the cluster: read from the journal, with the text before and after.
                var history = await restarted.AskRegistryAsync<RegistryReplies.History>(new RegistryCommands.GetHistory(10));
                var entry = Assert.Single(history.Entries);
                Assert.Equal(1, entry.Version);
                Assert.Equal("test@member-2", entry.ChangedBy);
                Assert.Equal("set priority of VS 1 to member-3,member-1", entry.Description);
                string FirstOf(string text) => new RegistryReplies.CurrentConfiguration(0, text, []).Parse(topology.Members).Entries.Single(e => e.Vs == new VsId(1)).Members[0].Value;
                Assert.Equal("member-1", FirstOf(entry.ConfigBefore));
                Assert.Equal("member-3", FirstOf(entry.ConfigAfter));
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
                File.Delete(db + suffix);
        }
    }

    [Fact]
    public async Task A_rejected_change_is_answered_with_the_reason_and_changes_nothing()
    {
        await using var cluster = new VslsTestCluster(TestTopologies.Manual(Members, Priorities));
        await cluster.StartAsync(Members);

        var rejected = await cluster.AskRegistryAsync<RegistryReplies.ConfigurationRejected>(
            new RegistryCommands.Import("1 10 member-1,member-4\n", "test"));
        var config = await cluster.AskRegistryAsync<RegistryReplies.CurrentConfiguration>(RegistryCommands.GetConfiguration.Instance, via: "member-3");

        Assert.Contains("unknown member 'member-4'", rejected.Reason);
        Assert.Equal(0, config.Version);
    }

    [Fact]
    public async Task Draining_a_member_moves_its_vss_to_their_standby()
    {
        await using var cluster = new VslsTestCluster(TestTopologies.Manual(Members, Priorities));
        await cluster.StartAsync(Members);
        await cluster.AwaitActiveAsync(new VsId(2), "member-2");

        await cluster.AskRegistryAsync<RegistryReplies.ConfigurationChanged>(new RegistryCommands.Drain("member-2", "test"));
        await cluster.AwaitActiveAsync(new VsId(2), "member-3");

        await cluster.AskRegistryAsync<RegistryReplies.ConfigurationChanged>(new RegistryCommands.Undrain("member-2", "test"));
        await cluster.AwaitActiveAsync(new VsId(2), "member-2");
    }
}
