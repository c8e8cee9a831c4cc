using System.Net;
using System.Text;
using System.Text.Json;
using VslsActors.Node;
using VslsActors.Cli.Ctl;

namespace VslsActors.Cli.Tests.Ctl;

/// <summary>
/// <c>vsls ctl</c> and the management API against three real in-process members: output and exit codes
/// of the commands, bad input refused with one line and the configuration unchanged, tokens enforced.
/// </summary>
[Collection("ctl cluster")]
public sealed partial class CtlClusterTests(ManagedCluster cluster) : IClassFixture<ManagedCluster>
{
    private string Endpoint => cluster.Api["member-2"];

    private Task<CliRun.Result> Ctl(params string[] args) =>
        CliRun.InProcessAsync(["ctl", "-e", Endpoint, "--token", ManagedCluster.Secret, .. args]);

    private async Task<string> ExportAsync()
    {
        using var http = ManagedCluster.Client(Endpoint, ManagedCluster.Secret);
        return await http.GetStringAsync("dist/export");
    }

    [Fact]
    public async Task Requests_without_or_with_a_wrong_token_get_401_and_change_nothing()
    {
        var before = await ExportAsync();
        using var none = ManagedCluster.Client(Endpoint, null);
        using var wrong = ManagedCluster.Client(Endpoint, "not-the-secret");

        var r1 = await none.PostAsync("dist/equal", null);
        var r2 = await wrong.PostAsync("dist/equal", null);
        var r3 = await wrong.PostAsync("members/member-1/drain", null);
        var r4 = await wrong.GetAsync("cluster");

        Assert.All(new[] { r1, r2, r3, r4 }, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Contains("\"error\"", await r2.Content.ReadAsStringAsync());
        Assert.Equal(before, await ExportAsync());
        var dist = await ManagedCluster.GetJsonAsync(Endpoint, "dist");
        Assert.Equal(0, dist.GetProperty("drained").GetArrayLength());
    }

    [Fact]
    public async Task Read_commands_print_tables_and_exit_0()
    {
        var show = await Ctl("cluster", "show");
        Assert.Equal(0, show.ExitCode);
        foreach (var m in new[] { "member-1", "member-2", "member-3" })
            Assert.Contains(m, show.Output);
        Assert.Contains("coordinator: member-1", show.Output);

        var ha = await Ctl("ha", "stat");
        Assert.Equal(0, ha.ExitCode);
        Assert.Contains("up", ha.Output);
        // The overload column: this member's own monitor reports at once; nothing is overloaded.
        Assert.Contains("overload", ha.Output);
        Assert.Matches(@"(?m)^\s*member-\d\s+up\s+normal\s", ha.Output);

        var vs = await Ctl("vs", "list");
        Assert.Equal(0, vs.ExitCode);
        Assert.Contains("corp-web", vs.Output);

        var regions = await Ctl("sharding", "regions", "--json");
        Assert.Equal(0, regions.ExitCode);
        using (var doc = JsonDocument.Parse(regions.Output))
            Assert.Equal(12, doc.RootElement.GetProperty("regions").EnumerateArray().Sum(r => r.GetProperty("shards").GetInt32()));

        foreach (var args in new[] { new[] { "sharding", "shard-stats" }, ["sharding", "region-stats"], ["dist", "show"], ["dist", "advise"], ["conn", "count", "1"], ["conn", "list", "1", "--limit", "5"], ["audit", "tail"] })
        {
            var r = await Ctl(args);
            Assert.True(r.ExitCode == 0, $"{string.Join(" ", args)}: exit {r.ExitCode}, {r.Error}");
        }

        var actors = await Ctl("actor", "hierarchy", "--path", "/user", "--depth", "1");
        Assert.True(actors.ExitCode == 0, actors.Error);
        Assert.StartsWith("/user", actors.Output);
        Assert.Contains("  vsls-registry", actors.Output);

        var plan = await Ctl("plan", "fail", "member-1");
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("member-2", plan.Output);
        var planJson = await Ctl("plan", "fail", "member-1", "--json");
        using (var doc = JsonDocument.Parse(planJson.Output))
        {
            var m1 = doc.RootElement.GetProperty("members").EnumerateArray().First(m => m.GetProperty("member").GetString() == "member-1");
            Assert.Equal(0, m1.GetProperty("activeLoadAfter").GetInt64());
            Assert.Equal("down", m1.GetProperty("stateAfter").GetString());
        }
    }

    [Fact]
    public async Task Bad_input_is_one_line_exit_2_and_the_configuration_is_unchanged()
    {
        var before = await ExportAsync();
        var badFile = Path.Combine(Path.GetTempPath(), $"vsls-bad-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(badFile, "1 10 member-1,member-2\nthis is not a line\n");
        try
        {
            var cases = new (string[] Args, string Expected)[]
            {
                (["dist", "set-priority", "1", "member-1,member-1"], "twice"),
                (["dist", "set-priority", "1", "member-1,member-9"], "member-9"),
                (["dist", "set-weight", "1", "0"], "weight '0'"),
                (["dist", "import", badFile], "import:2:"),
                (["vs", "show", "99"], "unknown VS 99"),
                (["member", "drain", "member-9"], "member-9"),
                (["plan", "fail", "member-9"], "member-9"),
                (["conn", "list", "1", "--filter", "proto ==="], "filter"),
                (["dist", "frobnicate"], "unknown command"),
                (["actor", "hierarchy", "--path", "/user/nobody"], "no actor at '/user/nobody'"),
            };
            foreach (var (args, expected) in cases)
            {
                var r = await Ctl(args);
                Assert.True(r.ExitCode == 2, $"{string.Join(" ", args)}: exit {r.ExitCode} ({r.Error})");
                Assert.Single(r.ErrorLines);
                Assert.Contains(expected, r.Error);
                Assert.StartsWith("vsls ctl: ", r.Error);
            }
        }
        finally
        {
            File.Delete(badFile);
        }
        Assert.Equal(before, await ExportAsync());
    }

    [Fact]
    public async Task An_unreachable_endpoint_or_a_wrong_token_is_one_line_and_exit_1()
    {
        var port = LocalPorts.Free(1)[0];
        var unreachable = await CliRun.InProcessAsync("ctl", "-e", $"127.0.0.1:{port}", "--token", "x", "cluster", "show");
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("cannot reach", Assert.Single(unreachable.ErrorLines));

        var wrong = await CliRun.InProcessAsync("ctl", "-e", Endpoint, "--token", "wrong", "cluster", "show");
        Assert.Equal(1, wrong.ExitCode);
        Assert.Contains("refused the token", Assert.Single(wrong.ErrorLines));
    }

    [Fact]
    public async Task Changes_are_audited_with_the_token_name_member_and_diff()
    {
        var set = await Ctl("dist", "set-weight", "4", "7");
        Assert.True(set.ExitCode == 0, set.Error);
        Assert.Contains("version", set.Output);

        var audit = await Ctl("audit", "tail", "--json");
        Assert.True(audit.ExitCode == 0, audit.Error);
        using var doc = JsonDocument.Parse(audit.Output);
        var last = doc.RootElement.GetProperty("changes").EnumerateArray().Last();
        Assert.Equal("alice@member-2", last.GetProperty("by").GetString());
        Assert.Equal("set weight of VS 4 to 7", last.GetProperty("what").GetString());
        var diff = last.GetProperty("diff").EnumerateArray().Select(d => d.GetString()!).ToArray();
        Assert.Contains(diff, d => d.StartsWith("- 4 ", StringComparison.Ordinal));
        Assert.Contains(diff, d => System.Text.RegularExpressions.Regex.IsMatch(d, @"^\+ 4\s+7\s"));

        var human = await Ctl("audit", "tail");
        Assert.Contains("alice@member-2", human.Output);
    }

    [Fact]
    public async Task Failover_moves_the_vs_to_its_standby_and_drain_empties_a_member()
    {
        var before = await ManagedCluster.GetJsonAsync(Endpoint, "vs/3");
        var active = before.GetProperty("active").GetString()!;
        var standby = before.GetProperty("standby").GetString()!;

        var failover = await Ctl("vs", "failover", "3");
        Assert.True(failover.ExitCode == 0, failover.Error);
        Assert.Contains($"Active {active} -> {standby}", failover.Output);
        await ManagedCluster.EventuallyAsync(async () =>
        {
            var now = await ManagedCluster.GetJsonAsync(Endpoint, "vs/3");
            return now.GetProperty("active").GetString() == standby && now.GetProperty("runningOn").GetString() == standby;
        }, TimeSpan.FromSeconds(30), $"VS 3 running on {standby}");
        // The keeper sees the move when VS 3 answers its next EnsureStarted from the new member.
        await ManagedCluster.EventuallyAsync(async () =>
        {
            var ha = await ManagedCluster.GetJsonAsync(Endpoint, "ha");
            return ha.GetProperty("recentMoves").EnumerateArray().Any(m =>
                m.GetProperty("vs").GetInt32() == 3 && m.GetProperty("to").GetString() == standby && m.GetProperty("from").GetString() == active)
                && ha.GetProperty("members").EnumerateArray().First(m => m.GetProperty("member").GetString() == standby).GetProperty("failovers").GetInt64() >= 1;
        }, TimeSpan.FromSeconds(20), "the keeper counted VS 3's failover");
        var stat = await Ctl("ha", "stat");
        // In the recent-moves table (a member's "last change" column may already show a later event).
        Assert.Matches($@"(?m)\s3\s+{active}\s+{standby}\s", stat.Output);
        Assert.Contains("placement changed", stat.Output);

        var drain = await Ctl("member", "drain", "member-3");
        Assert.Equal(0, drain.ExitCode);
        try
        {
            await ManagedCluster.EventuallyAsync(async () =>
            {
                var ha = await ManagedCluster.GetJsonAsync(Endpoint, "ha");
                var m3 = ha.GetProperty("members").EnumerateArray().First(m => m.GetProperty("member").GetString() == "member-3");
                return m3.GetProperty("state").GetString() == "draining" && m3.GetProperty("active").GetInt32() == 0;
            }, TimeSpan.FromSeconds(20), "member-3 draining with no Active VS");
        }
        finally
        {
            Assert.Equal(0, (await Ctl("member", "undrain", "member-3")).ExitCode);
        }
    }

    /// <summary>
    /// Waits until every VS runs where the placement puts it Active: a test that moves VSs leaves the
    /// cluster settled, so the next test in this class does not start in the middle of hand-offs.
    /// </summary>
    private async Task SettledAsync() =>
        await ManagedCluster.EventuallyAsync(async () =>
        {
            var vss = (await ManagedCluster.GetJsonAsync(Endpoint, "vs")).GetProperty("vss").EnumerateArray().ToArray();
            return vss.Length == ManagedCluster.Topology.VirtualSystems.Length
                && vss.All(v => v.GetProperty("runningOn").GetString() is { } on && on == v.GetProperty("active").GetString());
        }, TimeSpan.FromSeconds(30), "every VS running on its Active member");

    private static string[] Settings(string exported) =>
        exported.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();

    private async Task<JsonElement> DistAsync()
    {
        var show = await Ctl("dist", "show", "--json");
        Assert.True(show.ExitCode == 0, show.Error);
        using var doc = JsonDocument.Parse(show.Output);
        return doc.RootElement.Clone();
    }

    private async Task<string> LastAuditAsync()
    {
        var audit = await Ctl("audit", "tail", "--json", "--limit", "1");
        Assert.True(audit.ExitCode == 0, audit.Error);
        using var doc = JsonDocument.Parse(audit.Output);
        var last = doc.RootElement.GetProperty("changes").EnumerateArray().Last();
        Assert.Equal("alice@member-2", last.GetProperty("by").GetString());
        return last.GetProperty("what").GetString()!;
    }

    private async Task AssertRefusedAsync(string expected, params string[] args)
    {
        var before = await ExportAsync();
        var r = await Ctl(args);
        Assert.True(r.ExitCode == 2, $"{string.Join(" ", args)}: exit {r.ExitCode} ({r.Error})");
        Assert.Contains(expected, Assert.Single(r.ErrorLines));
        Assert.Empty(r.Output);
        Assert.Equal(before, await ExportAsync());
    }

    [Fact]
    public async Task Dist_equal_all_on_failback_and_export_import_change_the_lists_audit_and_round_trip()
    {
        var file = Path.Combine(Path.GetTempPath(), $"vsls-export-{Guid.NewGuid():N}.conf");
        try
        {
            // export writes exactly what the registry holds.
            var export = await Ctl("dist", "export", file);
            Assert.True(export.ExitCode == 0, export.Error);
            Assert.Equal($"wrote {file}", export.Output.Trim());
            var exported = await File.ReadAllTextAsync(file);
            Assert.Equal(await ExportAsync(), exported);
            Assert.Equal(ManagedCluster.Topology.VirtualSystems.Length, Settings(exported).Count(l => char.IsDigit(l[0])));

            // all-on: every VS's list starts with that member, and the placement follows.
            var allOn = await Ctl("dist", "all-on", "member-2");
            Assert.True(allOn.ExitCode == 0, allOn.Error);
            Assert.Matches(@"^changed: the configuration is now at version \d+$", allOn.Output.Trim());
            var dist = await DistAsync();
            Assert.Equal("all-on", dist.GetProperty("distribution").GetString());
            Assert.Equal("member-2", dist.GetProperty("allOnMember").GetString());
            Assert.All(dist.GetProperty("vss").EnumerateArray(), v => Assert.Equal("member-2", v.GetProperty("priority")[0].GetString()));
            Assert.Equal("set distribution to all-on member-2", await LastAuditAsync());
            var human = await Ctl("dist", "show");
            Assert.Contains("all-on", human.Output);
            await AssertRefusedAsync("member-9", "dist", "all-on", "member-9");

            // equal: the weighted spread over all three members again; --json gives the new version.
            var equal = await Ctl("dist", "equal", "--json");
            Assert.True(equal.ExitCode == 0, equal.Error);
            using (var doc = JsonDocument.Parse(equal.Output))
                Assert.Equal(dist.GetProperty("version").GetInt64() + 1, doc.RootElement.GetProperty("version").GetInt64());
            dist = await DistAsync();
            Assert.Equal("equal", dist.GetProperty("distribution").GetString());
            var firsts = dist.GetProperty("vss").EnumerateArray().Select(v => v.GetProperty("priority")[0].GetString()).Distinct().ToArray();
            Assert.Equal(3, firsts.Length);
            Assert.Equal("set distribution to equal", await LastAuditAsync());

            // failback: both modes, and a bad one refused.
            foreach (var mode in new[] { "active-up", "primary-up" })
            {
                var failback = await Ctl("dist", "failback", mode);
                Assert.True(failback.ExitCode == 0, failback.Error);
                Assert.Equal(mode, (await DistAsync()).GetProperty("failback").GetString());
                Assert.Equal($"set failback to {mode}", await LastAuditAsync());
            }
            await AssertRefusedAsync("'sideways' is not a failback mode", "dist", "failback", "sideways");
            await AssertRefusedAsync("expects primary-up|active-up", "dist", "failback");
            await AssertRefusedAsync("cannot write", "dist", "export", Path.Combine(file, "no-such-dir", "x.conf"));
            await AssertRefusedAsync("cannot read", "dist", "import", file + ".missing");

            // import of what export wrote: the same lists (and failback) as at the start.
            await Ctl("dist", "all-on", "member-3");
            var import = await Ctl("dist", "import", file);
            Assert.True(import.ExitCode == 0, import.Error);
            Assert.Equal(Settings(exported), Settings(await ExportAsync()));
            Assert.StartsWith("import", await LastAuditAsync());
        }
        finally
        {
            File.Delete(file);
            await SettledAsync();
        }
    }

    [Fact]
    public async Task Audit_tail_reads_across_the_registry_snapshot_every_100_changes()
    {
        var original = await ExportAsync();
        using var http = ManagedCluster.Client(Endpoint, ManagedCluster.Secret);
        // 105 changes in a row cross at least one snapshot (every 100th journal event).
        const int changes = 105;
        long first = 0;
        for (var weight = 1; weight <= changes; weight++)
        {
            var response = await http.PostAsync("dist/weight/6", new StringContent($"{{\"weight\":{weight}}}", Encoding.UTF8, "application/json"));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            if (weight == 1)
            {
                using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                first = doc.RootElement.GetProperty("version").GetInt64();
            }
        }
        try
        {
            var audit = await Ctl("audit", "tail", "--json", "--limit", changes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.True(audit.ExitCode == 0, audit.Error);
            using var doc = JsonDocument.Parse(audit.Output);
            var entries = doc.RootElement.GetProperty("changes").EnumerateArray().ToArray();
            Assert.Equal(changes, entries.Length);
            for (var i = 0; i < changes; i++)
            {
                // Every change in order, none lost or repeated at the snapshot, each with its own before/after.
                Assert.Equal(first + i, entries[i].GetProperty("version").GetInt64());
                Assert.Equal($"set weight of VS 6 to {i + 1}", entries[i].GetProperty("what").GetString());
                var diff = entries[i].GetProperty("diff").EnumerateArray().Select(d => d.GetString()!).ToArray();
                Assert.Contains(diff, d => System.Text.RegularExpressions.Regex.IsMatch(d, $@"^\+ 6\s+{i + 1}\s"));
                if (i > 0)
                    Assert.Contains(diff, d => System.Text.RegularExpressions.Regex.IsMatch(d, $@"^- 6\s+{i}\s"));
            }
        }
        finally
        {
            using var restore = await http.PostAsync("dist/import", new StringContent(original, Encoding.UTF8, "text/plain"));
            Assert.True(restore.IsSuccessStatusCode, await restore.Content.ReadAsStringAsync());
            await SettledAsync();
        }
    }

    [Fact]
    public async Task The_shell_runs_piped_lines_keeps_history_and_returns_the_last_failure()
    {
        using var client = new CtlClient(Endpoint, ManagedCluster.Secret);
        var input = new StringReader("help\ncluster show\nvs show 99\nhistory\nexit\nnot reached\n");
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await CtlShell.RunAsync(client, input, output, error, interactive: false, CancellationToken.None);

        Assert.Equal(2, code);
        Assert.Contains("dist set-priority", output.ToString());
        Assert.Contains("member-3", output.ToString());
        Assert.Contains("2  cluster show", output.ToString());
        Assert.Contains("unknown VS 99", error.ToString());
        Assert.DoesNotContain("not reached", output.ToString() + error.ToString());
    }

    [Fact]
    public async Task At_a_terminal_tab_completes_up_recalls_and_ctrl_d_ends_with_the_last_failure()
    {
        using var term = PseudoTerminal.Start("ctl", "-e", Endpoint, "--token", ManagedCluster.Secret);
        await term.WaitForAsync("vsls> ");

        // One candidate: Tab completes the line in place (only the shell can have written "vs list ").
        await term.TypeAsync("vs lis\t");
        await term.WaitForAsync("vs list ");
        await term.TypeAsync("\r");
        await term.WaitForAsync("corp-web");
        await term.WaitForAsync("vsls> ", 2);

        // Several candidates: listed under the line, the prompt comes back with what was typed.
        await term.TypeAsync("c\t");
        await term.WaitForAsync("cluster  conn");
        await term.WaitForAsync("vsls> c");
        // Backspace removes the "c" (else the next line would be "chistory", an unknown palette).
        await term.TypeAsync("\x7f");
        await term.WaitForAsync("\b \b");
        await term.TypeAsync("history\r");
        await term.WaitForAsync("1  vs list");
        await term.WaitForAsync("vsls> ", 4);

        // Up twice: "history", then "vs list " again; Enter runs it.
        await term.TypeAsync("\x1b[A\x1b[A");
        await term.WaitForAsync("vs list ", 2);
        await term.TypeAsync("\r");
        await term.WaitForAsync("corp-web", 2);
        await term.WaitForAsync("vsls> ", 5);

        await term.TypeAsync("vs show 99\r");
        await term.WaitForAsync("vsls ctl: unknown VS 99");
        await term.WaitForAsync("vsls> ", 6);

        // Ctrl+D on an empty line ends the shell like the end of piped input: the last failure's code.
        await term.TypeAsync("\x04");
        Assert.Equal(2, await term.ExitCodeAsync());
        Assert.DoesNotContain("unknown palette", term.Screen);
    }

    [Fact]
    public async Task At_a_terminal_ctrl_c_ends_the_shell_at_once_with_130()
    {
        using var term = PseudoTerminal.Start("ctl", "-e", Endpoint, "--token", ManagedCluster.Secret);
        await term.WaitForAsync("vsls> ");
        await term.TypeAsync("clu");
        await term.WaitForAsync("vsls> clu");
        await term.TypeAsync("\x03");
        Assert.Equal(130, await term.ExitCodeAsync());
    }

    [Fact]
    public async Task Cluster_tail_streams_the_members_until_interrupted()
    {
        using var client = new CtlClient(Endpoint, ManagedCluster.Secret);
        var output = new StringWriter();
        using var cts = new CancellationTokenSource();
        var tail = CtlCommands.RunAsync(client, ["cluster", "tail"], new CtlFlags(), new SyncWriter(output, cts), cts.Token);
        await tail.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains("member-1", output.ToString());
        Assert.Contains("member-3", output.ToString());
    }

    /// <summary>Cancels the tail once every member was named.</summary>
    private sealed class SyncWriter(StringWriter inner, CancellationTokenSource cts) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => inner.Write(value);

        public override Task WriteLineAsync(string? value)
        {
            inner.WriteLine(value);
            var text = inner.ToString();
            if (text.Contains("member-1", StringComparison.Ordinal) && text.Contains("member-2", StringComparison.Ordinal) && text.Contains("member-3", StringComparison.Ordinal))
                cts.Cancel();
            return Task.CompletedTask;
        }
    }
}
