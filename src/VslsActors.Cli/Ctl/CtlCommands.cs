using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace VslsActors.Cli.Ctl;

/// <summary>Flags a ctl command line may carry besides its words.</summary>
/// <param name="Json">Print the API's JSON (JSON lines for <c>conn list</c>) instead of tables.</param>
/// <param name="Filter">Connection filter (<c>conn list</c>).</param>
/// <param name="Limit">Row limit (<c>conn list</c>, <c>audit tail</c>).</param>
/// <param name="Path">Actor path (<c>actor hierarchy</c>).</param>
/// <param name="Depth">Depth (<c>actor hierarchy</c>).</param>
/// <param name="PacketsPerSecond">New packets/s limit, a number or <c>off</c> (<c>vs limits</c>).</param>
/// <param name="NewConnectionsPerSecond">New new-connections/s limit, a number or <c>off</c> (<c>vs limits</c>).</param>
/// <param name="MaxConnections">New connection-table limit (<c>vs limits</c>).</param>
public sealed record CtlFlags(bool Json = false, string? Filter = null, int? Limit = null, string? Path = null, int? Depth = null,
    string? PacketsPerSecond = null, string? NewConnectionsPerSecond = null, string? MaxConnections = null)
{
    /// <summary><c>--by weight|load</c> (<c>dist equal</c>, <c>dist advise</c>); null = weight.</summary>
    public string? By { get; init; }
}

/// <summary>
/// The palettes and commands of <c>vsls ctl</c>, shared by the one-shot form and the shell: each
/// validates its arguments, calls the API, and prints an aligned table (or JSON with <c>--json</c>).
/// </summary>
public static class CtlCommands
{
    /// <summary>One command: palette, name, arguments (for help) and what it does.</summary>
    public sealed record Entry(string Palette, string Name, string Arguments, string Help);

    /// <summary>Every command, in help order.</summary>
    public static IReadOnlyList<Entry> All { get; } =
    [
        new("cluster", "show", "", "members, status, roles, reachability, leader, coordinator"),
        new("cluster", "tail", "", "stream membership events until interrupted"),
        new("cluster", "leave", "<member>", "make a member leave the cluster gracefully"),
        new("cluster", "down", "<member>", "mark a member down"),
        new("cluster", "down-unreachable", "", "mark every unreachable member down"),
        new("actor", "hierarchy", "[--path p] [--depth n]", "the asked member's actors under a path (default /user, depth 3)"),
        new("sharding", "regions", "", "per member: shards and entities"),
        new("sharding", "region-stats", "", "this member's region: entities per shard"),
        new("sharding", "shard-stats", "", "every shard: member and entities"),
        new("ha", "stat", "", "per member: state, overload (normal or degraded and why), Active/Standby/Backup VS counts, weighted load %, failovers, last change and why"),
        new("vs", "list", "", "per VS: weight, Active/Standby/Backup members, connections, verdicts"),
        new("vs", "show", "<vs>", "one VS"),
        new("vs", "failover", "<vs>", "move a VS to its Standby now (graceful: priority change, shard hand-off)"),
        new("vs", "limits", "<vs> [--pps n|off] [--new-cps n|off] [--max-conns n]", "set a VS's packets/s, new-connections/s and connection limits (at run time; unset flags stay)"),
        new("dist", "show", "", "priority lists, modes, drained members, load per member"),
        new("dist", "equal", "[--by weight|load]", "distribute over all members by configured weight (default) or by load measured over the last 10 s (writes manual lists)"),
        new("dist", "all-on", "<member>", "every VS Active on one member"),
        new("dist", "set-priority", "<vs> <m1,m2,...>", "set one VS's priority list (Active first)"),
        new("dist", "set-weight", "<vs> <weight>", "set one VS's weight (> 0)"),
        new("dist", "failback", "primary-up|active-up", "set the failback mode"),
        new("dist", "export", "<file>", "write the VSLS configuration file"),
        new("dist", "import", "<file>", "apply a VSLS configuration file (all or nothing)"),
        new("dist", "loads", "", "load each VS measured over the last 10 s (packets/s, connections) and the load Active per member"),
        new("dist", "advise", "[--by weight|load]", "imbalance now (by weight, or by measured load) and the priority changes that fix it (applies nothing)"),
        new("member", "drain", "<member>", "move every VS off a member (maintenance)"),
        new("member", "undrain", "<member>", "end a member's drain"),
        new("conn", "list", "<vs> [--filter expr] [--limit n]", "a VS's connection table (--json: JSON lines)"),
        new("conn", "count", "<vs>", "a VS's connection count"),
        new("plan", "fail", "<member>[,<member>...]", "what-if: placement and load if those members failed now"),
        new("audit", "tail", "[--limit n]", "who changed the VSLS configuration, what, when"),
    ];

    /// <summary>The help text: every command with its arguments.</summary>
    public static string HelpText()
    {
        var lines = All.Select(e => ($"{e.Palette} {e.Name} {e.Arguments}".TrimEnd(), e.Help)).ToList();
        var width = lines.Max(l => l.Item1.Length) + 2;
        return string.Join(Environment.NewLine, lines.Select(l => "  " + l.Item1.PadRight(width) + l.Help));
    }

    /// <summary>Runs <paramref name="words"/> (palette, command, arguments); returns the exit code.</summary>
    /// <exception cref="CtlException">Bad arguments or a failed call.</exception>
    public static async Task<int> RunAsync(CtlClient client, IReadOnlyList<string> words, CtlFlags flags, TextWriter output, CancellationToken ct)
    {
        if (words.Count == 0 || words[0] is "help" or "--help" or "-h")
        {
            await output.WriteLineAsync("Commands:" + Environment.NewLine + HelpText()).ConfigureAwait(false);
            return 0;
        }
        var palette = words[0];
        var command = words.Count > 1 ? words[1] : "";
        var args = words.Skip(2).ToArray();
        var entry = All.FirstOrDefault(e => e.Palette == palette && e.Name == command);
        if (entry is null)
        {
            var known = All.Where(e => e.Palette == palette).Select(e => e.Name).ToArray();
            throw new CtlException(known.Length == 0
                ? $"unknown palette '{palette}' (palettes: {string.Join(", ", All.Select(e => e.Palette).Distinct())})"
                : $"unknown command '{palette} {command}' (commands: {string.Join(", ", known)})", CtlClient.BadInput);
        }
        // Bracketed parts are flags, not arguments ("[--pps n|off]").
        var expected = System.Text.RegularExpressions.Regex.Replace(entry.Arguments, @"\[[^\]]*\]", "")
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Count(a => a.StartsWith('<') || a.Contains('|'));
        if (args.Length != expected)
            throw new CtlException($"{palette} {command}: expects {(expected == 0 ? "no argument" : entry.Arguments)}, got {args.Length} argument(s)", CtlClient.BadInput);
        var p = new Printer(output, flags.Json);
        switch (palette, command)
        {
            case ("cluster", "show"): await ClusterShowAsync(client, p, ct).ConfigureAwait(false); break;
            case ("cluster", "tail"): await TailAsync(client, output, flags.Json, ct).ConfigureAwait(false); break;
            case ("cluster", "leave"): p.Done(await client.PostAsync($"cluster/members/{Uri.EscapeDataString(args[0])}/leave", null, ct).ConfigureAwait(false), $"{args[0]} asked to leave"); break;
            case ("cluster", "down"): p.Done(await client.PostAsync($"cluster/members/{Uri.EscapeDataString(args[0])}/down", null, ct).ConfigureAwait(false), $"{args[0]} marked down"); break;
            case ("cluster", "down-unreachable"):
            {
                var json = await client.PostAsync("cluster/down-unreachable", null, ct).ConfigureAwait(false);
                var downed = string.Join(", ", Parse(json).GetProperty("downed").EnumerateArray().Select(e => e.GetString()));
                p.Done(json, downed.Length == 0 ? "no unreachable member" : "downed: " + downed);
                break;
            }
            case ("actor", "hierarchy"):
            {
                var query = $"actors?path={Uri.EscapeDataString(flags.Path ?? "/user")}&depth={(flags.Depth ?? 3).ToString(CultureInfo.InvariantCulture)}";
                var json = await client.GetAsync(query, ct).ConfigureAwait(false);
                if (p.Raw(json))
                    break;
                foreach (var a in Parse(json).GetProperty("actors").EnumerateArray())
                {
                    var path = a.GetProperty("path").GetString() ?? "";
                    var level = a.GetProperty("depth").GetInt32();
                    p.Line(level == 0 ? path : new string(' ', 2 * level) + path[(path.LastIndexOf('/') + 1)..]);
                }
                break;
            }
            case ("sharding", "regions"):
                p.Table(await client.GetAsync("sharding/regions", ct).ConfigureAwait(false), "regions", ["member", "address", "shards", "entities", "failedShards"]);
                break;
            case ("sharding", "region-stats"):
                p.Table(await client.GetAsync("sharding/region-stats", ct).ConfigureAwait(false), "shards", ["shard", "entities"]);
                break;
            case ("sharding", "shard-stats"):
                p.Table(await client.GetAsync("sharding/shard-stats", ct).ConfigureAwait(false), "shards", ["shard", "member", "entities"]);
                break;
            case ("ha", "stat"): await HaStatAsync(client, p, ct).ConfigureAwait(false); break;
            case ("vs", "list"):
                p.Table(await client.GetAsync("vs", ct).ConfigureAwait(false), "vss", VsColumns);
                break;
            case ("vs", "show"):
            {
                var json = await client.GetAsync($"vs/{Vs(args[0])}", ct).ConfigureAwait(false);
                p.Table("{\"vss\":[" + json + "]}", "vss", VsColumns, raw: json);
                var r = Parse(json);
                string Field(string name, string whenNull) =>
                    r.TryGetProperty(name, out var v) && v.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined) ? Text(v) : whenNull;
                p.Line($"limits: max-connections {Field("maxConnections", "-")}, packets/s {Field("packetsPerSecondLimit", "off")}, new connections/s {Field("newConnectionsPerSecondLimit", "off")}");
                p.Line($"over-limit by kind: connections {Field("overLimitConnections", "-")}, packets/s {Field("overLimitPacketRate", "-")}, new connections/s {Field("overLimitNewConnectionRate", "-")}, overload {Field("overLimitOverload", "-")}");
                break;
            }
            case ("vs", "limits"): await LimitsAsync(client, args[0], flags, p, ct).ConfigureAwait(false); break;
            case ("vs", "failover"):
            {
                var json = await client.PostAsync($"vs/{Vs(args[0])}/failover", null, ct).ConfigureAwait(false);
                var r = Parse(json);
                p.Done(json, $"VS {args[0]}: Active {r.GetProperty("from").GetString()} -> {r.GetProperty("to").GetString()} (priority {string.Join(",", r.GetProperty("priority").EnumerateArray().Select(e => e.GetString()))}, configuration version {r.GetProperty("version")})");
                break;
            }
            case ("dist", "show"): await DistShowAsync(client, p, ct).ConfigureAwait(false); break;
            case ("dist", "equal"): await EqualAsync(client, By(palette, command, flags), p, ct).ConfigureAwait(false); break;
            case ("dist", "all-on"): p.Changed(await client.PostAsync($"dist/all-on/{Uri.EscapeDataString(args[0])}", null, ct).ConfigureAwait(false)); break;
            case ("dist", "set-priority"):
                p.Changed(await client.PostAsync($"dist/priority/{Vs(args[0])}", new { members = args[1] }, ct).ConfigureAwait(false));
                break;
            case ("dist", "set-weight"):
            {
                if (!int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var weight) || weight <= 0)
                    throw new CtlException($"dist set-weight: weight '{args[1]}' is not a whole number > 0", CtlClient.BadInput);
                p.Changed(await client.PostAsync($"dist/weight/{Vs(args[0])}", new { weight }, ct).ConfigureAwait(false));
                break;
            }
            case ("dist", "failback"):
                if (args[0] is not ("primary-up" or "active-up"))
                    throw new CtlException($"dist failback: '{args[0]}' is not a failback mode (primary-up or active-up)", CtlClient.BadInput);
                p.Changed(await client.PostAsync($"dist/failback/{args[0]}", null, ct).ConfigureAwait(false));
                break;
            case ("dist", "export"):
            {
                var text = await client.GetAsync("dist/export", ct).ConfigureAwait(false);
                try
                {
                    await File.WriteAllTextAsync(args[0], text, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new CtlException($"dist export: cannot write '{args[0]}': {e.Message}", CtlClient.BadInput);
                }
                await output.WriteLineAsync($"wrote {args[0]}").ConfigureAwait(false);
                break;
            }
            case ("dist", "import"):
            {
                string text;
                try
                {
                    text = await File.ReadAllTextAsync(args[0], ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new CtlException($"dist import: cannot read '{args[0]}': {e.Message}", CtlClient.BadInput);
                }
                p.Changed(await client.PostAsync("dist/import", null, ct, text).ConfigureAwait(false));
                break;
            }
            case ("dist", "loads"):
            {
                var json = await client.GetAsync("dist/loads", ct).ConfigureAwait(false);
                if (p.Raw(json))
                    break;
                p.Table(json, "vss", ["vs", "load", "packetsPerSecond", "connections"]);
                p.Table(json, "members", ["member", "state", "load"]);
                break;
            }
            case ("dist", "advise"): await AdviseAsync(client, By(palette, command, flags), p, ct).ConfigureAwait(false); break;
            case ("member", "drain"): p.Changed(await client.PostAsync($"members/{Uri.EscapeDataString(args[0])}/drain", null, ct).ConfigureAwait(false)); break;
            case ("member", "undrain"): p.Changed(await client.PostAsync($"members/{Uri.EscapeDataString(args[0])}/undrain", null, ct).ConfigureAwait(false)); break;
            case ("conn", "list"): await ConnListAsync(client, args[0], flags, output, ct).ConfigureAwait(false); break;
            case ("conn", "count"):
            {
                var json = await client.GetAsync($"vs/{Vs(args[0])}/connections/count", ct).ConfigureAwait(false);
                p.Done(json, Parse(json).GetProperty("connections").ToString());
                break;
            }
            case ("plan", "fail"): await PlanFailAsync(client, args[0], p, ct).ConfigureAwait(false); break;
            case ("audit", "tail"): await AuditAsync(client, flags.Limit ?? 20, p, ct).ConfigureAwait(false); break;
        }
        return 0;
    }

    private static async Task LimitsAsync(CtlClient client, string vsText, CtlFlags flags, Printer p, CancellationToken ct)
    {
        var vs = Vs(vsText);
        if (flags.PacketsPerSecond is null && flags.NewConnectionsPerSecond is null && flags.MaxConnections is null)
            throw new CtlException("vs limits: nothing to change (give --pps n|off, --new-cps n|off and/or --max-conns n)", CtlClient.BadInput);
        // Checked here for a quick one-line answer; the registry checks again (and names the VS).
        object? Limit(string flag, string? value, bool offAllowed)
        {
            if (value is null)
                return null;
            if (offAllowed && value == "off")
                return "off";
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0)
                throw new CtlException($"vs limits: {flag} '{value}' is not a whole number > 0{(offAllowed ? " or off" : "")}", CtlClient.BadInput);
            return n;
        }
        var body = new
        {
            maxConnections = Limit("--max-conns", flags.MaxConnections, offAllowed: false),
            packetsPerSecond = Limit("--pps", flags.PacketsPerSecond, offAllowed: true),
            newConnectionsPerSecond = Limit("--new-cps", flags.NewConnectionsPerSecond, offAllowed: true),
        };
        p.Changed(await client.PostAsync($"vs/{vs}/limits", body, ct).ConfigureAwait(false));
    }

    private static readonly string[] VsColumns = ["vs", "name", "weight", "active", "standby", "backups", "runningOn=running on", "connections", "packetsPerSecond=pkts/s", "accepted", "policyDropped", "rejected", "outOfState", "overLimit"];

    private static string Vs(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n.ToString(CultureInfo.InvariantCulture)
            : throw new CtlException($"'{text}' is not a VS id (a positive number)", CtlClient.BadInput);

    private static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static async Task ClusterShowAsync(CtlClient client, Printer p, CancellationToken ct)
    {
        var json = await client.GetAsync("cluster", ct).ConfigureAwait(false);
        if (p.Raw(json))
            return;
        var r = Parse(json);
        p.Line($"leader: {Text(r.GetProperty("leader"))}   coordinator: {Text(r.GetProperty("coordinator"))}   asked: {Text(r.GetProperty("selfMember"))}");
        p.Table(json, "members", ["member", "address", "status", "reachable", "roles", "leader"]);
    }

    private static async Task TailAsync(CtlClient client, TextWriter output, bool json, CancellationToken ct)
    {
        try
        {
            await client.StreamAsync("cluster/events", async (kind, data) =>
            {
                if (json)
                {
                    await output.WriteLineAsync(data).ConfigureAwait(false);
                }
                else
                {
                    var e = Parse(data);
                    await output.WriteLineAsync(string.Join("  ",
                        Text(e.GetProperty("at")), kind.PadRight(16), Text(e.GetProperty("member")).PadRight(12), Text(e.GetProperty("address")), Text(e.GetProperty("status")))).ConfigureAwait(false);
                }
                await output.FlushAsync(ct).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Interrupted: how tail ends.
        }
    }

    private static async Task HaStatAsync(CtlClient client, Printer p, CancellationToken ct)
    {
        var json = await client.GetAsync("ha", ct).ConfigureAwait(false);
        if (p.Raw(json))
            return;
        var rows = Parse(json).GetProperty("members").EnumerateArray().Select(m =>
        {
            var last = m.GetProperty("lastChange");
            var change = last.ValueKind == JsonValueKind.Object
                ? $"{Text(last.GetProperty("what"))} at {Text(last.GetProperty("at"))} ({Text(last.GetProperty("reason"))})"
                : "-";
            return new[]
            {
                Text(m.GetProperty("member")), Text(m.GetProperty("state")),
                m.TryGetProperty("degraded", out var degraded) ? Text(degraded) : "-", Text(m.GetProperty("active")), Text(m.GetProperty("standby")),
                Text(m.GetProperty("backup")), Text(m.GetProperty("running")), Text(m.GetProperty("weightedLoad")), Text(m.GetProperty("loadPercent")) + " %",
                Text(m.GetProperty("failovers")), change,
            };
        });
        p.Rows(["member", "state", "overload", "active", "standby", "backup", "running", "load", "load %", "failovers", "last change"], rows);
        var recent = Parse(json).GetProperty("recentMoves");
        if (recent.GetArrayLength() > 0)
        {
            p.Line("recent VS moves:");
            p.Table(json, "recentMoves", ["at", "vs", "from", "to", "reason"]);
        }
    }

    private static async Task DistShowAsync(CtlClient client, Printer p, CancellationToken ct)
    {
        var json = await client.GetAsync("dist", ct).ConfigureAwait(false);
        if (p.Raw(json))
            return;
        var r = Parse(json);
        var allOn = Text(r.GetProperty("allOnMember"));
        p.Line($"version {r.GetProperty("version")}   distribution {Text(r.GetProperty("distribution"))}{(allOn == "-" ? "" : " " + allOn)}   failback {Text(r.GetProperty("failback"))}   drained: {Text(r.GetProperty("drained"))}");
        p.Table(json, "vss", ["vs", "name", "weight", "priority", "active", "standby"]);
        p.Table(json, "members", ["member", "state", "activeLoad", "standbyLoad", "activeCount"]);
    }

    /// <summary>The <c>--by</c> value, checked before anything is sent: weight (the default) or load.</summary>
    private static string By(string palette, string command, CtlFlags flags) => flags.By switch
    {
        null or "weight" => "weight",
        "load" => "load",
        var other => throw new CtlException($"{palette} {command}: --by '{other}' is not weight or load", CtlClient.BadInput),
    };

    private static async Task EqualAsync(CtlClient client, string by, Printer p, CancellationToken ct)
    {
        if (by == "weight")
        {
            p.Changed(await client.PostAsync("dist/equal", null, ct).ConfigureAwait(false));
            return;
        }
        var json = await client.PostAsync("dist/equal?by=load", null, ct).ConfigureAwait(false);
        if (p.Raw(json))
            return;
        p.Line($"distributed by load (lists written, distribution manual); configuration version {Parse(json).GetProperty("version")}");
        p.Table(json, "loads", ["vs", "load", "packetsPerSecond", "connections"]);
    }

    private static async Task AdviseAsync(CtlClient client, string by, Printer p, CancellationToken ct)
    {
        var json = await client.GetAsync("dist/advise?by=" + by, ct).ConfigureAwait(false);
        if (p.Raw(json))
            return;
        var r = Parse(json);
        if (by == "load")
            p.Table(json, "loads", ["vs", "load", "packetsPerSecond", "connections"]);
        p.Line($"spread now {r.GetProperty("spreadBefore")}, after {r.GetProperty("spreadAfter")} (tolerance {r.GetProperty("tolerance")}); {r.GetProperty("activeMoves")} VS(s) would move Active, {r.GetProperty("standbyMoves")} Standby");
        p.Table(json, "before", ["member", "state", "load", "percent"]);
        if (r.GetProperty("changes").GetArrayLength() == 0)
        {
            p.Line(r.GetProperty("balanced").GetBoolean() ? "balanced: no change advised" : "no change improves the balance");
            return;
        }
        p.Table(json, "changes", ["vs", "load", "oldPriority", "newPriority", "oldActive", "newActive"]);
        p.Table(json, "after", ["member", "state", "load", "percent"]);
        p.Line("Not applied. To apply: save the lines below to a file and run 'dist import <file>'.");
        p.Line(Text(r.GetProperty("import")).TrimEnd());
    }

    private static async Task ConnListAsync(CtlClient client, string vs, CtlFlags flags, TextWriter output, CancellationToken ct)
    {
        if (flags.Limit is < 1)
            throw new CtlException($"conn list: --limit {flags.Limit} is not a positive number", CtlClient.BadInput);
        var query = new List<string>();
        if (flags.Limit is { } limit)
            query.Add("limit=" + limit.ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrWhiteSpace(flags.Filter))
            query.Add("filter=" + Uri.EscapeDataString(flags.Filter));
        var json = await client.GetAsync($"vs/{Vs(vs)}/connections{(query.Count > 0 ? "?" + string.Join("&", query) : "")}", ct).ConfigureAwait(false);
        var r = Parse(json);
        if (flags.Json)
        {
            // The connection table's JSON-lines format (ConnectionTableJson), as the member wrote each row.
            foreach (var c in r.GetProperty("connections").EnumerateArray())
                await output.WriteLineAsync(c.GetRawText()).ConfigureAwait(false);
            return;
        }
        var p = new Printer(output, false);
        p.Line($"VS {vs}: {r.GetProperty("returned")} of {r.GetProperty("total")} connection(s)");
        p.Table(json, "connections", ["proto", "orig_h", "orig_p", "resp_h", "resp_p", "state", "orig_pkts", "resp_pkts", "rule", "last_seen"]);
    }

    private static async Task PlanFailAsync(CtlClient client, string members, Printer p, CancellationToken ct)
    {
        var json = await client.GetAsync($"plan/fail?members={Uri.EscapeDataString(members)}", ct).ConfigureAwait(false);
        if (p.Raw(json))
            return;
        var r = Parse(json);
        p.Line($"if {members} failed now (even share {r.GetProperty("evenShare").GetDouble():0.#}, warning above {r.GetProperty("overloadPercent")} %):");
        p.Table(json, "members", ["member", "stateBefore", "stateAfter", "activeLoadBefore", "activeLoadAfter", "activeCountAfter", "percentOfEvenShare", "overloaded"]);
        p.Table(json, "changes", ["vs", "weight", "from", "to"]);
        if (r.GetProperty("downVss").GetArrayLength() > 0)
            p.Line("VSs with no member left: " + Text(r.GetProperty("downVss")));
    }

    private static async Task AuditAsync(CtlClient client, int last, Printer p, CancellationToken ct)
    {
        var json = await client.GetAsync($"audit?last={last.ToString(CultureInfo.InvariantCulture)}", ct).ConfigureAwait(false);
        if (p.Raw(json))
            return;
        var changes = Parse(json).GetProperty("changes").EnumerateArray().ToArray();
        if (changes.Length == 0)
        {
            p.Line("no configuration change yet");
            return;
        }
        p.Rows(["version", "at", "by", "what", "diff"], changes.Select(c => new[]
        {
            Text(c.GetProperty("version")), Text(c.GetProperty("at")), Text(c.GetProperty("by")), Text(c.GetProperty("what")),
            string.Join(Environment.NewLine, c.GetProperty("diff").EnumerateArray().Select(d => d.GetString())),
        }));
    }

    /// <summary>A JSON value as a table cell: strings bare, arrays comma-joined, null as <c>-</c>.</summary>
    internal static string Text(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => "-",
        JsonValueKind.String => e.GetString() ?? "-",
        JsonValueKind.Array => e.GetArrayLength() == 0 ? "-" : string.Join(",", e.EnumerateArray().Select(Text)),
        JsonValueKind.True => "yes",
        JsonValueKind.False => "no",
        _ => e.GetRawText(),
    };

    /// <summary>Writes tables (Spectre.Console, no colours, wide) or the raw JSON.</summary>
    private sealed class Printer(TextWriter output, bool json)
    {
        public bool Raw(string body)
        {
            if (!json)
                return false;
            output.WriteLine(body);
            return true;
        }

        public void Line(string text)
        {
            if (!json)
                output.WriteLine(text);
        }

        public void Done(string body, string human)
        {
            if (!Raw(body))
                output.WriteLine(human);
        }

        public void Changed(string body)
        {
            if (!Raw(body))
                output.WriteLine($"changed: the configuration is now at version {Parse(body).GetProperty("version")}");
        }

        public void Table(string body, string property, string[] columns, string? raw = null)
        {
            if (Raw(raw ?? body))
                return;
            // A column is "property" or "property=header".
            var names = columns.Select(c => c.Split('=')[0]).ToArray();
            var headers = columns.Select(c => c.Split('=')[^1]).ToArray();
            var rows = Parse(body).GetProperty(property).EnumerateArray()
                .Select(r => names.Select(c => r.TryGetProperty(c, out var v) ? Text(v) : "-").ToArray());
            Rows(headers, rows);
        }

        public void Rows(string[] columns, IEnumerable<string[]> rows)
        {
            var table = new Table().Border(TableBorder.Simple);
            foreach (var c in columns)
                table.AddColumn(new TableColumn(Markup.Escape(c)));
            foreach (var r in rows)
                table.AddRow(r.Select(cell => new Text(cell)).ToArray());
            // Rendered aside, then written without the border's blank first/last lines and trailing
            // spaces, so the output diffs and greps cleanly.
            var buffer = new StringWriter();
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
                Out = new AnsiConsoleOutput(buffer),
            });
            console.Profile.Width = 240;
            console.Write(table);
            var lines = buffer.ToString().Split('\n').Select(l => l.TrimEnd()).ToList();
            while (lines.Count > 0 && lines[0].Length == 0)
                lines.RemoveAt(0);
            while (lines.Count > 0 && lines[^1].Length == 0)
                lines.RemoveAt(lines.Count - 1);
            foreach (var line in lines)
                output.WriteLine(line);
        }
    }
}
