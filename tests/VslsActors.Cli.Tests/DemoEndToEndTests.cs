using System.Text.Json;

namespace VslsActors.Cli.Tests;

/// <summary>
/// `vsls demo` as a user runs it: the real executable as its own process, three member processes,
/// a SIGKILL part-way, and the JSON report checked key by key.
/// </summary>
public sealed class DemoEndToEndTests
{
    private static readonly string[] RequiredKeys =
    [
        "members", "virtual_systems", "packets_sent", "packets_accepted", "policy_drops", "out_of_state_drops",
        "connections_opened", "connections_synced", "connections_lost_on_failover", "failover_gap_ms", "throughput_pps",
    ];

    private static async Task<(CliRun.Result Run, JsonElement Report)> RunDemoAsync(params string[] args)
    {
        var r = await CliRun.ProcessAsync(["demo", "--json", .. args]);
        Assert.True(r.ExitCode == 0, $"vsls demo exited {r.ExitCode}: {r.Error}");
        using var doc = JsonDocument.Parse(r.Output); // stdout holds the report and nothing else
        return (r, doc.RootElement.Clone());
    }

    [Fact]
    public async Task Demo_kills_a_member_and_every_vs_it_ran_comes_back_on_a_survivor_without_losing_a_synced_connection()
    {
        var (_, report) = await RunDemoAsync("--duration", "15s", "--failover-at", "6s", "--rate", "5000", "--connections", "500");

        foreach (var key in RequiredKeys)
            Assert.True(report.TryGetProperty(key, out _), $"the report has no '{key}'");

        // Three members, one killed; the survivors stopped gracefully (SIGTERM → leave → exit 0).
        var members = report.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(3, members.Count);
        var killed = Assert.Single(members, m => m.GetProperty("killed").GetBoolean());
        Assert.True(killed.GetProperty("active_virtual_systems_before").GetInt32() > 0);
        Assert.Equal(0, killed.GetProperty("active_virtual_systems_after").GetInt32());
        Assert.All(members.Where(m => !m.GetProperty("killed").GetBoolean()), m => Assert.Equal(0, m.GetProperty("exit_code").GetInt32()));

        // Every VS of the sample topology ran, and every VS of the killed member came back elsewhere.
        var vss = report.GetProperty("virtual_systems").EnumerateArray().ToList();
        Assert.Equal(12, vss.Count);
        var failedOver = vss.Where(v => v.GetProperty("failed_over").GetBoolean()).ToList();
        Assert.Equal(killed.GetProperty("active_virtual_systems_before").GetInt32(), failedOver.Count);
        Assert.All(failedOver, v => Assert.NotEqual(killed.GetProperty("name").GetString(), v.GetProperty("member_after").GetString()));
        var gaps = report.GetProperty("failover_gap_ms");
        Assert.Equal(failedOver.Count, gaps.EnumerateObject().Count());
        Assert.All(gaps.EnumerateObject(), g => Assert.True(g.Value.GetDouble() > 0));

        // Traffic of every kind was seen, and the synced connections were really checked afterwards.
        Assert.True(report.GetProperty("packets_sent").GetInt64() > 10_000);
        Assert.True(report.GetProperty("packets_accepted").GetInt64() > 0);
        Assert.True(report.GetProperty("policy_drops").GetInt64() > 0);
        Assert.True(report.GetProperty("connections_opened").GetInt64() > 0);
        Assert.True(report.GetProperty("connections_synced").GetInt64() > 0);
        Assert.True(report.GetProperty("connections_probed").GetInt64() > 0, "no synced connection was probed: the loss count would prove nothing");
        Assert.Equal(0, report.GetProperty("probes_unanswered").GetInt64());
        Assert.Equal(0, report.GetProperty("connections_lost_on_failover").GetInt64());
        Assert.True(report.GetProperty("throughput_pps").GetDouble() > 0);
    }

    [Fact]
    public async Task Demo_without_failover_answers_every_packet_and_every_member_leaves_gracefully()
    {
        var (_, report) = await RunDemoAsync("--duration", "8s", "--no-failover", "--members", "2", "--rate", "3000", "--connections", "300");
        Assert.False(report.GetProperty("failover").GetBoolean());
        Assert.Empty(report.GetProperty("failover_gap_ms").EnumerateObject());
        Assert.Equal(0, report.GetProperty("packets_unanswered").GetInt64());
        Assert.All(report.GetProperty("members").EnumerateArray(), m => Assert.Equal(0, m.GetProperty("exit_code").GetInt32()));
        // With two of the three configured members up, VSs whose first member is member-3 run on their Standby.
        Assert.Equal(12, report.GetProperty("members").EnumerateArray().Sum(m => m.GetProperty("active_virtual_systems_after").GetInt32()));
    }
}
