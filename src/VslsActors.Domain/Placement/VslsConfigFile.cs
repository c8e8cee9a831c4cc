using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using VslsActors.Domain.Configuration;

namespace VslsActors.Domain.Placement;

using VslsActors.Domain.Topology;
using VslsActors.Domain.VirtualSystems;

/// <summary>
/// The contents of a VSLS configuration file: one <see cref="VsPriority"/> per VS line, and the
/// optional <c>distribution</c> and <c>failback</c> settings (null when the file does not set them).
/// </summary>
/// <param name="Entries">The VS lines, in file order.</param>
/// <param name="Distribution">The <c>distribution =</c> setting, if present.</param>
/// <param name="AllOnMember">The member of <c>distribution = all-on &lt;member&gt;</c>.</param>
/// <param name="Failback">The <c>failback =</c> setting, if present.</param>
/// <param name="Limits">The <c>limits</c> lines, in file order (default: none).</param>
public sealed record VslsConfigDocument(
    ImmutableArray<VsPriority> Entries,
    DistributionMode? Distribution = null,
    MemberName? AllOnMember = null,
    FailbackMode? Failback = null,
    ImmutableArray<VsLimits> Limits = default)
{
    /// <summary>Value equality, comparing <see cref="Entries"/> and <see cref="Limits"/> element by element.</summary>
    public bool Equals(VslsConfigDocument? other) =>
        other is not null
        && Distribution == other.Distribution
        && AllOnMember == other.AllOnMember
        && Failback == other.Failback
        && Entries.AsSpan().SequenceEqual(other.Entries.AsSpan())
        && Limits.AsSpan().SequenceEqual(other.Limits.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Distribution);
        h.Add(AllOnMember);
        h.Add(Failback);
        foreach (var e in Entries.AsSpan())
            h.Add(e);
        foreach (var l in Limits.AsSpan())
            h.Add(l);
        return h.ToHashCode();
    }
}

/// <summary>
/// One <c>limits</c> line: a VS's limits, all three (a line sets them together, so what a file says
/// is exactly what runs). Rates are per second; null = no limit (<c>off</c>).
/// </summary>
/// <param name="Vs">The virtual system.</param>
/// <param name="MaxConnections">Its connection-table limit (≥ 1).</param>
/// <param name="PacketsPerSecond">Its packets/s limit, or null for none.</param>
/// <param name="NewConnectionsPerSecond">Its new-connections/s limit, or null for none.</param>
public sealed record VsLimits(VsId Vs, int MaxConnections, int? PacketsPerSecond, int? NewConnectionsPerSecond)
{
    /// <summary>The limits <paramref name="vs"/> runs with.</summary>
    public static VsLimits Of(VirtualSystemConfig vs)
    {
        ArgumentNullException.ThrowIfNull(vs);
        return new VsLimits(vs.Id, vs.MaxConnections, vs.PacketsPerSecond, vs.NewConnectionsPerSecond);
    }

    /// <summary>The line's fields as a file writes them: <c>max-connections=… packets-per-second=…|off new-connections-per-second=…|off</c>.</summary>
    public string FieldsText() => string.Create(CultureInfo.InvariantCulture,
        $"max-connections={MaxConnections} packets-per-second={Rate(PacketsPerSecond)} new-connections-per-second={Rate(NewConnectionsPerSecond)}");

    private static string Rate(int? rate) => rate is { } r ? r.ToString(CultureInfo.InvariantCulture) : "off";
}

/// <summary>
/// Export and import of the VSLS configuration as a text file an operator can edit
/// (<c>vsx_util vsls</c> options 5 and 6; <c>vsls ctl dist export | import</c>). The format is
/// documented in <c>docs/vsls-config-file.md</c>:
/// <code>
/// # comments start with '#', anywhere on a line
/// failback = primary-up
/// 1   20  member-1,member-2,member-3   # corp-web
/// 2   10  member-2,member-3,member-1
/// </code>
/// Bad input raises a <see cref="ConfigException"/> naming the file, line, VS and field
/// (<c>vs-id</c>, <c>weight</c>, <c>members</c>, <c>distribution</c>, <c>failback</c>).
/// </summary>
public static class VslsConfigFile
{
    /// <summary>The largest weight a file may give a VS: keeps summed loads far from overflow.</summary>
    public const int MaxWeight = 1_000_000;

    /// <summary>
    /// The file for <paramref name="topology"/>: every VS's effective priority list under the
    /// current distribution mode (<see cref="PlacementCalculator.ResolvePriorityLists"/>), its
    /// weight and name (as a comment), and the failback mode. The distribution mode is written
    /// as a comment only, so importing the file unchanged switches to <c>manual</c> with exactly
    /// the lists that were running: nothing moves.
    /// </summary>
    public static string Export(Topology topology, DateTimeOffset exportedAt)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var names = new Dictionary<VsId, string>(topology.VirtualSystems.Length);
        foreach (var vs in topology.VirtualSystems)
            names[vs.Id] = vs.Name;
        var doc = new VslsConfigDocument(PlacementCalculator.ResolvePriorityLists(topology), Failback: topology.Vsls.Failback, Limits: LimitsOf(topology));
        var mode = FormatDistribution(topology.Vsls.Distribution, topology.Vsls.AllOnMember);
        var note = $"Distribution in effect at export: {mode}. Importing this file sets distribution = manual"
                   + " with the lists below, unless a 'distribution = ...' line is added.";
        return Export(doc, exportedAt, topology.Members, names, note);
    }

    /// <summary>Every VS's limits, in VS order (what <see cref="Export(Topology, DateTimeOffset)"/> and the registry write).</summary>
    public static ImmutableArray<VsLimits> LimitsOf(Topology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var limits = ImmutableArray.CreateBuilder<VsLimits>(topology.VirtualSystems.Length);
        foreach (var vs in topology.VirtualSystems)
            limits.Add(VsLimits.Of(vs));
        return limits.MoveToImmutable();
    }

    /// <summary>
    /// Writes <paramref name="document"/>: a header comment, the settings it sets, then one line
    /// per entry with columns aligned. <paramref name="names"/> adds each VS's name as a trailing
    /// comment; <paramref name="members"/> lists the members in the header.
    /// </summary>
    public static string Export(
        VslsConfigDocument document,
        DateTimeOffset exportedAt,
        IReadOnlyList<MemberName>? members = null,
        IReadOnlyDictionary<VsId, string>? names = null,
        string? note = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        var sb = new StringBuilder();
        sb.Append("# VslsActors VSLS configuration, exported ")
          .Append(exportedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("# Lines: <vs-id> <weight> <member>[,<member>...]   (first member = Active, second = Standby, rest = Backup)\n");
        sb.Append("# Members missing from a line follow its listed ones, in configured order. Format: docs/vsls-config-file.md\n");
        if (members is { Count: > 0 })
            sb.Append("# Members: ").Append(string.Join(", ", members)).Append('\n');
        if (note is not null)
            sb.Append("# ").Append(OneLine(note)).Append('\n');
        if (document.Distribution is { } d)
            sb.Append("distribution = ").Append(FormatDistribution(d, document.AllOnMember)).Append('\n');
        if (document.Failback is { } f)
            sb.Append("failback = ").Append(FormatFailback(f)).Append('\n');

        var entries = document.Entries.IsDefault ? [] : document.Entries;
        int idWidth = 1, weightWidth = 1;
        foreach (var e in entries)
        {
            idWidth = Math.Max(idWidth, e.Vs.ToString().Length);
            weightWidth = Math.Max(weightWidth, e.Weight.ToString(CultureInfo.InvariantCulture).Length);
        }
        foreach (var e in entries)
        {
            var line = new StringBuilder()
                .Append(e.Vs.ToString().PadRight(idWidth)).Append("  ")
                .Append(e.Weight.ToString(CultureInfo.InvariantCulture).PadRight(weightWidth)).Append("  ")
                .Append(string.Join(",", e.Members.AsSpan().ToArray()));
            if (names is not null && names.TryGetValue(e.Vs, out var name) && !string.IsNullOrWhiteSpace(name))
                line.Append("   # ").Append(OneLine(name));
            sb.Append(line).Append('\n');
        }
        var limits = document.Limits.IsDefault ? [] : document.Limits;
        if (limits.Length > 0)
            sb.Append("# Limits: limits <vs-id> max-connections=<n> packets-per-second=<n>|off new-connections-per-second=<n>|off\n");
        foreach (var l in limits)
            sb.Append("limits ").Append(l.Vs.ToString().PadRight(idWidth)).Append("  ").Append(l.FieldsText()).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// Reads a VSLS configuration file. Every member named must be in
    /// <paramref name="knownMembers"/>; when <paramref name="knownVss"/> is given every VS must
    /// be in it. A line may list fewer members than are configured (the rest follow in
    /// configured order when placed) but at least one.
    /// </summary>
    /// <param name="text">The file's contents.</param>
    /// <param name="origin">The file name (or "command line"), for error messages.</param>
    /// <param name="knownMembers">The configured members, in configured order.</param>
    /// <param name="knownVss">The configured VSs, or null to accept any id.</param>
    /// <exception cref="ConfigException">Any line that cannot be used; nothing is returned then.</exception>
    public static VslsConfigDocument Parse(string text, string origin, IReadOnlyCollection<MemberName> knownMembers, IReadOnlyCollection<VsId>? knownVss = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(origin);
        ArgumentNullException.ThrowIfNull(knownMembers);
        var members = new HashSet<MemberName>(knownMembers);
        var memberList = string.Join(", ", knownMembers);
        var vss = knownVss is null ? null : new HashSet<VsId>(knownVss);

        var entries = ImmutableArray.CreateBuilder<VsPriority>();
        var limits = ImmutableArray.CreateBuilder<VsLimits>();
        var lineOf = new Dictionary<VsId, int>();
        var limitsLineOf = new Dictionary<VsId, int>();
        DistributionMode? distribution = null;
        MemberName? allOn = null;
        FailbackMode? failback = null;
        int distributionLine = 0, failbackLine = 0;

        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var lineNo = i + 1;
            var content = lines[i];
            var hash = content.IndexOf('#');
            if (hash >= 0)
                content = content[..hash];
            content = content.Trim();
            if (content.Length == 0)
                continue;

            if (content.StartsWith("limits", StringComparison.Ordinal) && (content.Length == 6 || char.IsWhiteSpace(content[6])))
            {
                limits.Add(ParseLimitsLine(content, origin, lineNo, vss, limitsLineOf));
                continue;
            }

            var eq = content.IndexOf('=');
            if (eq >= 0)
            {
                var key = content[..eq].Trim();
                var value = content[(eq + 1)..].Trim();
                switch (key)
                {
                    case "distribution":
                        if (distributionLine != 0)
                            throw new ConfigException(origin, lineNo, null, key, $"set twice (first on line {distributionLine})");
                        (distribution, allOn) = ParseDistribution(value, origin, lineNo, members, memberList);
                        distributionLine = lineNo;
                        break;
                    case "failback":
                        if (failbackLine != 0)
                            throw new ConfigException(origin, lineNo, null, key, $"set twice (first on line {failbackLine})");
                        failback = value switch
                        {
                            "primary-up" => FailbackMode.PrimaryUp,
                            "active-up" => FailbackMode.ActiveUp,
                            _ => throw new ConfigException(origin, lineNo, null, key, $"'{value}' is not a failback mode (primary-up, active-up)"),
                        };
                        failbackLine = lineNo;
                        break;
                    default:
                        throw new ConfigException(origin, lineNo, null, key.Length == 0 ? null : key,
                            $"unknown setting '{key}' (settings: distribution, failback)");
                }
                continue;
            }

            entries.Add(ParseVsLine(content, origin, lineNo, members, memberList, vss, lineOf));
        }
        return new VslsConfigDocument(entries.ToImmutable(), distribution, allOn, failback, limits.ToImmutable());
    }

    /// <summary>
    /// A new topology with <paramref name="document"/> applied: each listed VS gets the weight
    /// and priority list of its line; the distribution mode becomes the file's, or
    /// <c>manual</c> when it sets none; the failback mode changes only when the file sets it.
    /// VSs the file does not list keep their weight and keep the lists they were running with
    /// (under a generated mode those are written into them), so switching to manual moves none
    /// of them. All or nothing: any error raises before anything is built.
    /// </summary>
    /// <exception cref="ConfigException">A VS, member or weight the topology cannot take.</exception>
    public static Topology Apply(Topology topology, VslsConfigDocument document, string origin)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(document);
        var members = new HashSet<MemberName>(topology.Members);
        var memberList = string.Join(", ", topology.Members);
        var byId = new Dictionary<VsId, VsPriority>();
        foreach (var e in document.Entries.IsDefault ? [] : document.Entries)
        {
            var vs = e.Vs.ToString();
            if (topology.Find(e.Vs) is null)
                throw new ConfigException(origin, null, vs, "vs-id", "not a configured virtual system");
            if (!byId.TryAdd(e.Vs, e))
                throw new ConfigException(origin, null, vs, "vs-id", "listed twice");
            CheckWeight(e.Weight, origin, null, vs);
            var list = e.Members.IsDefault ? [] : e.Members;
            if (list.Length == 0)
                throw new ConfigException(origin, null, vs, "members", "no member listed");
            for (var i = 0; i < list.Length; i++)
            {
                if (!members.Contains(list[i]))
                    throw new ConfigException(origin, null, vs, "members", $"unknown member '{list[i]}' (members: {memberList})");
                if (list.AsSpan(0, i).Contains(list[i]))
                    throw new ConfigException(origin, null, vs, "members", $"member '{list[i]}' is listed twice");
            }
        }
        var limitsById = new Dictionary<VsId, VsLimits>();
        foreach (var l in document.Limits.IsDefault ? [] : document.Limits)
        {
            var vs = l.Vs.ToString();
            if (topology.Find(l.Vs) is null)
                throw new ConfigException(origin, null, vs, "vs-id", "not a configured virtual system");
            if (!limitsById.TryAdd(l.Vs, l))
                throw new ConfigException(origin, null, vs, "limits", "listed twice");
            CheckLimit(l.MaxConnections, origin, null, vs, "max-connections");
            if (l.PacketsPerSecond is { } pps)
                CheckLimit(pps, origin, null, vs, "packets-per-second");
            if (l.NewConnectionsPerSecond is { } cps)
                CheckLimit(cps, origin, null, vs, "new-connections-per-second");
        }
        var distribution = document.Distribution ?? DistributionMode.Manual;
        MemberName? allOn = null;
        if (distribution == DistributionMode.AllOn)
        {
            if (document.AllOnMember is not { } home)
                throw new ConfigException(origin, null, null, "distribution", "all-on needs a member (all-on <member>)");
            if (!members.Contains(home))
                throw new ConfigException(origin, null, null, "distribution", $"unknown member '{home}' (members: {memberList})");
            allOn = home;
        }

        // Only under a generated mode do the written lists differ from the running ones.
        ImmutableArray<VsPriority> running = topology.Vsls.Distribution == DistributionMode.Manual
            ? []
            : PlacementCalculator.ResolvePriorityLists(topology);
        var updated = ImmutableArray.CreateBuilder<VirtualSystemConfig>(topology.VirtualSystems.Length);
        foreach (var original in topology.VirtualSystems)
        {
            // Limits are independent of the priority lines: a VS keeps its limits unless a limits line names it.
            var vs = limitsById.TryGetValue(original.Id, out var l)
                ? original with { MaxConnections = l.MaxConnections, PacketsPerSecond = l.PacketsPerSecond, NewConnectionsPerSecond = l.NewConnectionsPerSecond }
                : original;
            if (byId.TryGetValue(vs.Id, out var e))
            {
                updated.Add(vs with { Weight = e.Weight, Priority = e.Members });
                continue;
            }
            var kept = vs;
            foreach (var r in running)
            {
                if (r.Vs == vs.Id)
                {
                    kept = vs with { Priority = r.Members };
                    break;
                }
            }
            updated.Add(kept);
        }
        var settings = new VslsSettings(distribution, allOn, document.Failback ?? topology.Vsls.Failback);
        return topology with { VirtualSystems = updated.MoveToImmutable(), Vsls = settings };
    }

    /// <summary>
    /// <see cref="Parse"/> against <paramref name="topology"/>'s members and VSs, then
    /// <see cref="Apply"/>: the whole import, all or nothing.
    /// </summary>
    public static Topology Import(Topology topology, string text, string origin)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var ids = new VsId[topology.VirtualSystems.Length];
        for (var i = 0; i < ids.Length; i++)
            ids[i] = topology.VirtualSystems[i].Id;
        var doc = Parse(text, origin, topology.Members, ids);
        return Apply(topology, doc, origin);
    }

    private static VsPriority ParseVsLine(
        string content, string origin, int lineNo, HashSet<MemberName> members, string memberList,
        HashSet<VsId>? knownVss, Dictionary<VsId, int> lineOf)
    {
        var idEnd = WordEnd(content, 0);
        var idText = content[..idEnd];
        if (!VsId.TryParse(idText, out var id))
        {
            throw new ConfigException(origin, lineNo, null, "vs-id",
                $"'{Shorten(idText)}' is not a virtual system id (an integer ≥ 1); expected '<vs-id> <weight> <member>[,<member>...]' or '<setting> = <value>'");
        }
        var vs = id.ToString();
        if (knownVss is not null && !knownVss.Contains(id))
            throw new ConfigException(origin, lineNo, vs, "vs-id", "not a configured virtual system");
        if (lineOf.TryGetValue(id, out var first))
            throw new ConfigException(origin, lineNo, vs, "vs-id", $"listed twice (first on line {first})");
        lineOf[id] = lineNo;

        var weightStart = SkipSpace(content, idEnd);
        if (weightStart >= content.Length)
            throw new ConfigException(origin, lineNo, vs, "weight", "missing (expected '<vs-id> <weight> <member>[,<member>...]')");
        var weightEnd = WordEnd(content, weightStart);
        var weightText = content[weightStart..weightEnd];
        if (!int.TryParse(weightText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var weight))
            throw new ConfigException(origin, lineNo, vs, "weight", $"'{Shorten(weightText)}' is not a whole number");
        CheckWeight(weight, origin, lineNo, vs);

        var membersStart = SkipSpace(content, weightEnd);
        if (membersStart >= content.Length)
            throw new ConfigException(origin, lineNo, vs, "members", "missing (expected '<member>[,<member>...]' after the weight)");
        var items = content[membersStart..].Split(',');
        var list = new MemberName[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var item = items[i].Trim();
            if (item.Length == 0)
                throw new ConfigException(origin, lineNo, vs, "members", "empty member name (stray comma?)");
            if (!MemberName.IsValid(item))
                throw new ConfigException(origin, lineNo, vs, "members", $"'{Shorten(item)}' is not a member name (separate members with commas)");
            var m = new MemberName(item);
            if (!members.Contains(m))
                throw new ConfigException(origin, lineNo, vs, "members", $"unknown member '{item}' (members: {memberList})");
            if (list.AsSpan(0, i).Contains(m))
                throw new ConfigException(origin, lineNo, vs, "members", $"member '{item}' is listed twice");
            list[i] = m;
        }
        return new VsPriority(id, weight, System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(list));
    }

    /// <summary>The fields a <c>limits</c> line must set, in the order export writes them.</summary>
    private static readonly string[] s_limitFields = ["max-connections", "packets-per-second", "new-connections-per-second"];

    private static VsLimits ParseLimitsLine(string content, string origin, int lineNo, HashSet<VsId>? knownVss, Dictionary<VsId, int> lineOf)
    {
        const string expected = "expected 'limits <vs-id> max-connections=<n> packets-per-second=<n>|off new-connections-per-second=<n>|off'";
        var words = content.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length < 2 || !VsId.TryParse(words[1], out var id))
            throw new ConfigException(origin, lineNo, null, "vs-id",
                words.Length < 2 ? "missing after 'limits' (" + expected + ")" : $"'{Shorten(words[1])}' is not a virtual system id (an integer ≥ 1); {expected}");
        var vs = id.ToString();
        if (knownVss is not null && !knownVss.Contains(id))
            throw new ConfigException(origin, lineNo, vs, "vs-id", "not a configured virtual system");
        if (lineOf.TryGetValue(id, out var first))
            throw new ConfigException(origin, lineNo, vs, "limits", $"listed twice (first on line {first})");
        lineOf[id] = lineNo;

        var values = new Dictionary<string, int?>(StringComparer.Ordinal);
        foreach (var word in words.AsSpan(2))
        {
            var eq = word.IndexOf('=');
            var key = eq < 0 ? word : word[..eq];
            if (Array.IndexOf(s_limitFields, key) < 0)
                throw new ConfigException(origin, lineNo, vs, "limits", $"unknown field '{Shorten(key)}' (fields: {string.Join(", ", s_limitFields)})");
            if (eq < 0)
                throw new ConfigException(origin, lineNo, vs, key, $"missing '=<value>' ({key}=<n>{(key == "max-connections" ? "" : "|off")})");
            if (values.ContainsKey(key))
                throw new ConfigException(origin, lineNo, vs, key, "set twice");
            var text = word[(eq + 1)..];
            if (text == "off")
            {
                if (key == "max-connections")
                    throw new ConfigException(origin, lineNo, vs, key, "cannot be off: every VS has a connection-table limit (a whole number ≥ 1)");
                values[key] = null;
                continue;
            }
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                throw new ConfigException(origin, lineNo, vs, key, $"'{Shorten(text)}' is not a whole number{(key == "max-connections" ? "" : " or off")}");
            CheckLimit(n, origin, lineNo, vs, key);
            values[key] = n;
        }
        foreach (var field in s_limitFields)
        {
            if (!values.ContainsKey(field))
                throw new ConfigException(origin, lineNo, vs, field, "missing (" + expected + ")");
        }
        return new VsLimits(id, values["max-connections"]!.Value, values["packets-per-second"], values["new-connections-per-second"]);
    }

    private static void CheckLimit(int value, string origin, int? line, string vs, string field)
    {
        if (value < 1)
            throw new ConfigException(origin, line, vs, field, $"{value} is not a limit (a whole number from 1 to {TokenBucket.MaxRate}{(field == "max-connections" ? "" : ", or off for none")})");
        if (value > TokenBucket.MaxRate)
            throw new ConfigException(origin, line, vs, field, $"{value} is larger than the maximum {TokenBucket.MaxRate}");
    }

    private static (DistributionMode, MemberName?) ParseDistribution(string value, string origin, int lineNo, HashSet<MemberName> members, string memberList)
    {
        var words = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        switch (words)
        {
            case ["manual"]:
                return (DistributionMode.Manual, null);
            case ["equal"]:
                return (DistributionMode.Equal, null);
            case ["all-on"]:
                throw new ConfigException(origin, lineNo, null, "distribution", "all-on needs a member (all-on <member>)");
            case ["all-on", var name]:
                if (!MemberName.IsValid(name) || !members.Contains(new MemberName(name)))
                    throw new ConfigException(origin, lineNo, null, "distribution", $"unknown member '{Shorten(name)}' (members: {memberList})");
                return (DistributionMode.AllOn, new MemberName(name));
            default:
                throw new ConfigException(origin, lineNo, null, "distribution", $"'{Shorten(value)}' is not a distribution mode (manual, equal, all-on <member>)");
        }
    }

    private static void CheckWeight(int weight, string origin, int? line, string vs)
    {
        if (weight < 1)
            throw new ConfigException(origin, line, vs, "weight", $"{weight} is not a weight (an integer from 1 to {MaxWeight})");
        if (weight > MaxWeight)
            throw new ConfigException(origin, line, vs, "weight", $"{weight} is larger than the maximum weight {MaxWeight}");
    }

    private static string FormatDistribution(DistributionMode mode, MemberName? allOn) => mode switch
    {
        DistributionMode.Manual => "manual",
        DistributionMode.Equal => "equal",
        DistributionMode.AllOn => allOn is { } m ? $"all-on {m}" : "all-on",
        _ => mode.ToString(),
    };

    private static string FormatFailback(FailbackMode mode) => mode switch
    {
        FailbackMode.PrimaryUp => "primary-up",
        FailbackMode.ActiveUp => "active-up",
        _ => mode.ToString(),
    };

    private static int WordEnd(string s, int start)
    {
        var i = start;
        while (i < s.Length && !char.IsWhiteSpace(s[i]))
            i++;
        return i;
    }

    private static int SkipSpace(string s, int start)
    {
        var i = start;
        while (i < s.Length && char.IsWhiteSpace(s[i]))
            i++;
        return i;
    }

    /// <summary>Keeps a quoted piece of a garbage line short enough for a one-line message.</summary>
    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>Names and notes go into comments: a line break in them would start a new line.</summary>
    private static string OneLine(string s)
    {
        var chars = s.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsControl(chars[i]))
                chars[i] = ' ';
        }
        return new string(chars);
    }
}
