using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using VslsActors.Domain.Configuration;

namespace VslsActors.Domain.Placement;

using VslsActors.Domain.Topology;

/// <summary>
/// The contents of a VSLS configuration file: one <see cref="VsPriority"/> per VS line, and the
/// optional <c>distribution</c> and <c>failback</c> settings (null when the file does not set them).
/// </summary>
/// <param name="Entries">The VS lines, in file order.</param>
/// <param name="Distribution">The <c>distribution =</c> setting, if present.</param>
/// <param name="AllOnMember">The member of <c>distribution = all-on &lt;member&gt;</c>.</param>
/// <param name="Failback">The <c>failback =</c> setting, if present.</param>
public sealed record VslsConfigDocument(
    ImmutableArray<VsPriority> Entries,
    DistributionMode? Distribution = null,
    MemberName? AllOnMember = null,
    FailbackMode? Failback = null)
{
    /// <summary>Value equality, comparing <see cref="Entries"/> element by element.</summary>
    public bool Equals(VslsConfigDocument? other) =>
        other is not null
        && Distribution == other.Distribution
        && AllOnMember == other.AllOnMember
        && Failback == other.Failback
        && Entries.AsSpan().SequenceEqual(other.Entries.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Distribution);
        h.Add(AllOnMember);
        h.Add(Failback);
        foreach (var e in Entries.AsSpan())
            h.Add(e);
        return h.ToHashCode();
    }
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
        var doc = new VslsConfigDocument(PlacementCalculator.ResolvePriorityLists(topology), Failback: topology.Vsls.Failback);
        var mode = FormatDistribution(topology.Vsls.Distribution, topology.Vsls.AllOnMember);
        var note = $"Distribution in effect at export: {mode}. Importing this file sets distribution = manual"
                   + " with the lists below, unless a 'distribution = ...' line is added.";
        return Export(doc, exportedAt, topology.Members, names, note);
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
        var lineOf = new Dictionary<VsId, int>();
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
        return new VslsConfigDocument(entries.ToImmutable(), distribution, allOn, failback);
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
        foreach (var vs in topology.VirtualSystems)
        {
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
