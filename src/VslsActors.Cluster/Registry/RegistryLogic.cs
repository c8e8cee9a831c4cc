using System.Collections.Immutable;
using System.Globalization;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Configuration;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Registry;

/// <summary>The outcome of one registry command: a new state with its description, or a one-line rejection.</summary>
/// <param name="State">The state after the change (null when rejected).</param>
/// <param name="Description">What changed, for the audit log.</param>
/// <param name="Rejection">Why nothing changed (null when accepted).</param>
public sealed record RegistryDecision(RegistryState? State, string Description, string? Rejection);

/// <summary>
/// The registry's pure logic: the state of a topology file, applying a state over a topology, and
/// deciding commands. The state's text is a <see cref="VslsConfigFile"/> document with the
/// <b>completed lists in effect</b> and explicit <c>distribution</c>/<c>failback</c> lines, so
/// importing it over the topology file reproduces exactly what ran.
/// </summary>
public static class RegistryLogic
{
    /// <summary>The initial state when the journal is empty: the topology file's VSLS settings at version 0.</summary>
    public static RegistryState Initial(Topology fileTopology, DateTimeOffset now) =>
        new(0, TextOf(fileTopology, now), []);

    /// <summary>The configuration text of <paramref name="topology"/>.</summary>
    public static string TextOf(Topology topology, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var names = new Dictionary<VsId, string>();
        foreach (var vs in topology.VirtualSystems)
            names[vs.Id] = vs.Name;
        var doc = new VslsConfigDocument(
            PlacementCalculator.ResolvePriorityLists(topology),
            topology.Vsls.Distribution,
            topology.Vsls.AllOnMember,
            topology.Vsls.Failback,
            // Every VS's limits, so the registry's text is all that runs (as for weights, the journal wins over the file).
            VslsConfigFile.LimitsOf(topology));
        return VslsConfigFile.Export(doc, now, topology.Members, names, "Written by the VSLS registry; change it with vsls ctl.");
    }

    /// <summary>The topology file with <paramref name="state"/> applied. Throws <see cref="ConfigException"/> when they do not fit.</summary>
    public static Topology Apply(Topology fileTopology, RegistryState state) =>
        VslsConfigFile.Import(fileTopology, state.VslsConfigText, "registry configuration");

    /// <summary>Decides <paramref name="command"/> against <paramref name="state"/> over <paramref name="fileTopology"/>.</summary>
    public static RegistryDecision Decide(Topology fileTopology, RegistryState state, IRegistryChange command, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(fileTopology);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(command);
        try
        {
            var current = Apply(fileTopology, state);
            var drained = state.DrainedMembers.IsDefault ? [] : state.DrainedMembers;
            switch (command)
            {
                case RegistryCommands.Drain d:
                {
                    var member = KnownMember(current, d.Member, "drain");
                    var next = drained.Contains(member.Value) ? drained : drained.Add(member.Value).Sort(StringComparer.Ordinal);
                    return Accept(state, state.VslsConfigText, next, $"drain {member}");
                }
                case RegistryCommands.Undrain u:
                {
                    var member = KnownMember(current, u.Member, "undrain");
                    return Accept(state, state.VslsConfigText, drained.Remove(member.Value), $"undrain {member}");
                }
            }
            var (updated, description) = command switch
            {
                RegistryCommands.SetPriority p => (SetPriority(current, p), $"set priority of VS {p.VsId} to {string.Join(",", p.Members ?? [])}"),
                RegistryCommands.SetWeight w => (SetWeight(current, w), $"set weight of VS {w.VsId} to {w.Weight}"),
                RegistryCommands.SetLimits l => SetLimits(current, l),
                RegistryCommands.SetDistribution d => (SetDistribution(current, d), $"set distribution to {Distribution(d.Mode, d.AllOnMember)}"),
                RegistryCommands.EqualByLoad l => (EqualByLoad(current, l), "set distribution to equal by load (loads: " + LoadsText(l.Loads) + ")"),
                RegistryCommands.SetFailback f => (VslsConfigFile.Apply(current, Settings(current, failback: f.Mode), "failback"),
                    $"set failback to {(f.Mode == FailbackMode.PrimaryUp ? "primary-up" : "active-up")}"),
                RegistryCommands.Import i => (VslsConfigFile.Import(current, i.Text ?? "", "import"), "import VSLS configuration"),
                _ => throw new ArgumentException($"unknown registry command {command.GetType().Name}", nameof(command)),
            };
            return Accept(state, TextOf(updated, now), drained, description);
        }
        catch (ConfigException e)
        {
            return new RegistryDecision(null, "", e.Message);
        }
    }

    private static RegistryDecision Accept(RegistryState state, string text, ImmutableArray<string> drained, string description) =>
        new(new RegistryState(state.Version + 1, text, drained), description, null);

    private static MemberName KnownMember(Topology topology, string? name, string origin)
    {
        if (name is not null && MemberName.IsValid(name) && topology.Members.Contains(new MemberName(name)))
            return new MemberName(name);
        throw new ConfigException(origin, null, null, "members",
            $"unknown member '{name}' (members: {string.Join(", ", topology.Members)})");
    }

    private static Topology SetPriority(Topology current, RegistryCommands.SetPriority p)
    {
        var weight = current.Find(p.VsId)?.Weight ?? VirtualSystemConfig.DefaultWeight;
        // Written as a file line so that every error reads exactly as the file's.
        var line = string.Create(CultureInfo.InvariantCulture, $"{p.VsId} {weight} {string.Join(",", p.Members ?? [])}");
        var doc = VslsConfigFile.Parse(line, "set-priority", current.Members, Ids(current));
        return VslsConfigFile.Apply(current, doc with { Failback = null }, "set-priority");
    }

    private static Topology SetWeight(Topology current, RegistryCommands.SetWeight w)
    {
        var list = current.Members.AsEnumerable();
        foreach (var e in PlacementCalculator.ResolvePriorityLists(current))
        {
            if (e.Vs == w.VsId)
                list = e.Members;
        }
        var line = string.Create(CultureInfo.InvariantCulture, $"{w.VsId} {w.Weight} {string.Join(",", list)}");
        var doc = VslsConfigFile.Parse(line, "set-weight", current.Members, Ids(current));
        return VslsConfigFile.Apply(current, Settings(current) with { Entries = doc.Entries }, "set-weight");
    }

    private static (Topology, string) SetLimits(Topology current, RegistryCommands.SetLimits l)
    {
        var vs = current.Find(l.VsId) ?? throw new ConfigException("set-limits", null, l.VsId.ToString(), "vs-id", "not a configured virtual system");
        var now = VsLimits.Of(vs);
        // Written as a file line so that every error reads exactly as the file's; unchanged fields keep their value.
        var line = "limits " + l.VsId + " " + string.Join(' ',
            "max-connections=" + Value("max-connections", l.MaxConnections, now.MaxConnections.ToString(CultureInfo.InvariantCulture)),
            "packets-per-second=" + Value("packets-per-second", l.PacketsPerSecond, Rate(now.PacketsPerSecond)),
            "new-connections-per-second=" + Value("new-connections-per-second", l.NewConnectionsPerSecond, Rate(now.NewConnectionsPerSecond)));
        VslsConfigDocument doc;
        try
        {
            doc = VslsConfigFile.Parse(line, "set-limits", current.Members, Ids(current));
        }
        catch (ConfigException e)
        {
            // The line is built here, not typed by the operator: its number would only confuse.
            throw new ConfigException(e.Origin, null, e.VirtualSystem, e.Field, e.Problem);
        }
        var limits = doc.Limits[0];
        return (VslsConfigFile.Apply(current, Settings(current) with { Limits = doc.Limits }, "set-limits"),
            $"set limits of VS {l.VsId} to {limits.FieldsText()}");

        // A value is one word of the line; anything with a space (or empty) is refused here, named, rather than misread.
        string Value(string field, string? given, string unchanged)
        {
            if (given is null)
                return unchanged;
            var value = given.Trim();
            if (value.Length == 0 || value.Any(char.IsWhiteSpace))
                throw new ConfigException("set-limits", null, l.VsId.ToString(), field, $"'{given}' is not a whole number{(field == "max-connections" ? "" : " or off")}");
            return value;
        }

        static string Rate(int? rate) => rate is { } r ? r.ToString(CultureInfo.InvariantCulture) : "off";
    }

    private static Topology SetDistribution(Topology current, RegistryCommands.SetDistribution d)
    {
        var doc = VslsConfigFile.Parse("distribution = " + Distribution(d.Mode, d.AllOnMember), "set-distribution", current.Members, Ids(current));
        return VslsConfigFile.Apply(current, doc, "set-distribution");
    }

    private static Topology EqualByLoad(Topology current, RegistryCommands.EqualByLoad l)
    {
        var loads = new Dictionary<VsId, double>();
        foreach (var e in l.Loads ?? [])
        {
            if (e is null || current.Find(e.Vs) is null)
                throw new ConfigException("equal-by-load", null, null, "loads", $"load for VS {e?.Vs.ToString() ?? "(none)"}, which is not configured");
            if (!double.IsFinite(e.Load) || e.Load < 0)
                throw new ConfigException("equal-by-load", null, null, "loads", $"VS {e.Vs} has load {e.Load.ToString(CultureInfo.InvariantCulture)}; a load is a non-negative number");
            if (!loads.TryAdd(e.Vs, e.Load))
                throw new ConfigException("equal-by-load", null, null, "loads", $"VS {e.Vs} has two loads");
        }
        var missing = current.VirtualSystems.Where(v => !loads.ContainsKey(v.Id)).Select(v => v.Id.ToString()).ToArray();
        if (missing.Length > 0)
            throw new ConfigException("equal-by-load", null, null, "loads", $"no load for VS {string.Join(", ", missing)}");
        var lists = VslsActors.Domain.Placement.Distribution.EqualByLoad(current.Members, [.. current.VirtualSystems.Select(v => (v.Id, v.Weight, loads[v.Id]))]);
        return VslsConfigFile.Apply(current, new VslsConfigDocument(lists, DistributionMode.Manual, null, current.Vsls.Failback), "equal-by-load");
    }

    private static string LoadsText(VsLoad[]? loads) =>
        string.Join(", ", (loads ?? []).Where(e => e is not null).OrderBy(e => e.Vs).Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Vs}={e.Load:0.###}")));

    /// <summary>A document with no VS line that keeps the current modes (optionally a new failback).</summary>
    private static VslsConfigDocument Settings(Topology current, FailbackMode? failback = null) =>
        new([], current.Vsls.Distribution, current.Vsls.AllOnMember, failback ?? current.Vsls.Failback);

    private static string Distribution(DistributionMode mode, string? allOn) => mode switch
    {
        DistributionMode.Manual => "manual",
        DistributionMode.Equal => "equal",
        DistributionMode.AllOn => string.IsNullOrWhiteSpace(allOn) ? "all-on" : "all-on " + allOn,
        _ => mode.ToString(),
    };

    private static VsId[] Ids(Topology topology)
    {
        var ids = new VsId[topology.VirtualSystems.Length];
        for (var i = 0; i < ids.Length; i++)
            ids[i] = topology.VirtualSystems[i].Id;
        return ids;
    }
}
