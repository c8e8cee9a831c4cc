using System.Collections.Immutable;
using VslsActors.Domain.Configuration;
using VslsActors.Domain.Net;

namespace VslsActors.Domain.Policy;

/// <summary>
/// Checks a <see cref="PolicyDefinition"/> and compiles it into a <see cref="CompiledPolicy"/>.
/// Every problem is a <see cref="ConfigException"/> naming the origin, the virtual system and
/// the field (<c>policy.rules[3] (allow-web).destination</c>, <c>policy.groups.dmz</c>) with
/// the same paths the topology loader uses; rules are numbered from 1, as SmartConsole numbers
/// them, so an operator finds "rule 3" where the message says so.
/// </summary>
public static class PolicyCompiler
{
    private static readonly UInt128 PortMax = ushort.MaxValue;
    private static readonly UInt128 ByteMax = byte.MaxValue;
    private const int GroupsListedInErrors = 10;

    /// <summary>
    /// Compiles <paramref name="policy"/>. <paramref name="origin"/> (the file or source) and
    /// <paramref name="virtualSystem"/> (e.g. <c>3 (corp-web)</c>) only locate errors.
    /// </summary>
    /// <exception cref="ConfigException">
    /// A rule or group names an undefined group; groups form a cycle; a rule name is empty,
    /// reserved or used twice (names compare case-insensitively, since two rules an operator
    /// reads as the same name would make logs ambiguous); a cell is empty; a port range has
    /// low &gt; high; ports are given for a protocol other than TCP/UDP or an ICMP type for a
    /// protocol other than ICMP/ICMPv6; an action, track or sync value is unknown.
    /// </exception>
    public static CompiledPolicy Compile(PolicyDefinition policy, string origin = "policy", string? virtualSystem = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var context = new Context(origin, virtualSystem);
        var groups = new GroupResolver(policy.Groups ?? ImmutableDictionary<string, ImmutableArray<AddressItem>>.Empty, context);
        groups.ResolveAll();

        var rules = policy.Rules.IsDefault ? [] : policy.Rules;
        var sources = new IntervalSet[rules.Length];
        var destinations = new IntervalSet[rules.Length];
        var services = new ServiceSets[rules.Length];
        var decisions = new PolicyDecision[rules.Length];
        var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < rules.Length; i++)
        {
            var rule = rules[i] ?? throw context.Fail($"policy.rules[{i + 1}]", "missing rule");
            if (string.IsNullOrWhiteSpace(rule.Name))
                throw context.Fail($"policy.rules[{i + 1}]", "empty rule name");
            var field = $"policy.rules[{i + 1}] ({rule.Name})";
            if (string.Equals(rule.Name, PolicyDecision.ImplicitCleanupName, StringComparison.OrdinalIgnoreCase))
                throw context.Fail($"{field}.name", $"'{PolicyDecision.ImplicitCleanupName}' is reserved for the implicit cleanup rule");
            if (!names.TryAdd(rule.Name, i))
                throw context.Fail($"{field}.name", $"duplicate rule name (policy.rules[{names[rule.Name] + 1}] has it too)");
            if (!Enum.IsDefined(rule.Action))
                throw context.Fail($"{field}.action", $"unknown action {(int)rule.Action} (accept, drop or reject)");
            if (!Enum.IsDefined(rule.Track))
                throw context.Fail($"{field}.track", $"unknown track {(int)rule.Track} (none or log)");
            if (!Enum.IsDefined(rule.Sync))
                throw context.Fail($"{field}.sync", $"unknown sync {(int)rule.Sync} (immediate, delayed or none)");

            sources[i] = AddressCellSet(rule.Source, $"{field}.source", groups, context);
            destinations[i] = AddressCellSet(rule.Destination, $"{field}.destination", groups, context);
            services[i] = ServiceCellSets(rule.Service, $"{field}.service", context);
            decisions[i] = new PolicyDecision(i, rule.Action, rule.Track, rule.Sync, rule.Name);
        }

        var pool = new RuleSetPool(rules.Length);
        var source = pool.Build(sources, UInt128.MaxValue);
        var destination = pool.Build(destinations, UInt128.MaxValue);
        var tcp = pool.Build(Select(services, s => s.Tcp), PortMax);
        var udp = pool.Build(Select(services, s => s.Udp), PortMax);
        var icmp = pool.Build(Select(services, s => s.Icmp), ByteMax);
        var icmpV6 = pool.Build(Select(services, s => s.IcmpV6), ByteMax);
        var protocols = pool.Build(Select(services, s => s.Protocols), ByteMax);
        return new CompiledPolicy(
            policy,
            decisions,
            pool.ToArray(),
            pool.Words,
            new AddressTable(source.Starts, source.Offsets),
            new AddressTable(destination.Starts, destination.Offsets),
            new PortTable(tcp.Starts, tcp.Offsets),
            new PortTable(udp.Starts, udp.Offsets),
            ByteTable(icmp),
            ByteTable(icmpV6),
            ByteTable(protocols),
            pool.DistinctSets);
    }

    private static IntervalSet[] Select(ServiceSets[] services, Func<ServiceSets, IntervalSet> part)
    {
        var result = new IntervalSet[services.Length];
        for (var i = 0; i < services.Length; i++)
            result[i] = part(services[i]);
        return result;
    }

    /// <summary>ICMP types and protocol numbers have 256 values: a direct table beats a search.</summary>
    private static int[] ByteTable((UInt128[] Starts, int[] Offsets) intervals)
    {
        var table = new int[256];
        for (var v = 0; v < table.Length; v++)
            table[v] = intervals.Offsets[AddressTable.Search(intervals.Starts, (UInt128)v)];
        return table;
    }

    private static IntervalSet AddressCellSet(AddressCell? cell, string field, GroupResolver groups, Context context)
    {
        if (cell is null)
            throw context.Fail(field, "missing cell (write 'any' to match every address)");
        if (cell.Items.IsDefaultOrEmpty)
            throw context.Fail(field, "empty cell (write 'any' to match every address)");
        var parts = new List<IntervalSet>(cell.Items.Length);
        for (var k = 0; k < cell.Items.Length; k++)
            parts.Add(groups.Item(cell.Items[k], k, field));
        var union = IntervalSet.Union(parts);
        return cell.Negated ? union.Complement(UInt128.MaxValue) : union;
    }

    private static ServiceSets ServiceCellSets(ServiceCell? cell, string field, Context context)
    {
        if (cell is null)
            throw context.Fail(field, "missing cell (write 'any' to match every service)");
        if (cell.Items.IsDefaultOrEmpty)
            throw context.Fail(field, "empty cell (write 'any' to match every service)");
        var tcp = new List<(UInt128, UInt128)>();
        var udp = new List<(UInt128, UInt128)>();
        var icmp = new List<(UInt128, UInt128)>();
        var icmpV6 = new List<(UInt128, UInt128)>();
        var protocols = new List<(UInt128, UInt128)>();
        for (var k = 0; k < cell.Items.Length; k++)
        {
            switch (cell.Items[k])
            {
                case ServiceItem.Any:
                    tcp.Add((0, PortMax));
                    udp.Add((0, PortMax));
                    icmp.Add((0, ByteMax));
                    icmpV6.Add((0, ByteMax));
                    protocols.Add((0, ByteMax));
                    break;
                case ServiceItem.Ports p:
                    if (p.Protocol is not (IpProtocol.Tcp or IpProtocol.Udp))
                        throw context.Fail(field, $"'{p}' gives ports for protocol {p.Protocol.Name()}; ports exist only for tcp and udp");
                    if (p.Low > p.High)
                        throw context.Fail(field, $"'{p}' is not a port range (low {p.Low} > high {p.High})");
                    (p.Protocol == IpProtocol.Tcp ? tcp : udp).Add((p.Low, p.High));
                    break;
                case ServiceItem.IcmpType t:
                    if (t.Protocol is not (IpProtocol.Icmp or IpProtocol.IcmpV6))
                        throw context.Fail(field, $"'{t}' gives an ICMP type for protocol {t.Protocol.Name()}; ICMP types exist only for icmp and icmpv6");
                    (t.Protocol == IpProtocol.Icmp ? icmp : icmpV6).Add(t.Type is { } type ? ((UInt128)type, (UInt128)type) : (UInt128.Zero, ByteMax));
                    break;
                case ServiceItem.WholeProtocol w:
                    // A whole-protocol item for a protocol that has its own table covers that
                    // table entirely; the protocol-number table is consulted only for the others.
                    switch (w.Number)
                    {
                        case IpProtocol.Tcp: tcp.Add((0, PortMax)); break;
                        case IpProtocol.Udp: udp.Add((0, PortMax)); break;
                        case IpProtocol.Icmp: icmp.Add((0, ByteMax)); break;
                        case IpProtocol.IcmpV6: icmpV6.Add((0, ByteMax)); break;
                        default: protocols.Add(((byte)w.Number, (byte)w.Number)); break;
                    }
                    break;
                default:
                    throw context.Fail(field, $"item {k} is missing");
            }
        }
        var sets = new ServiceSets(
            IntervalSet.From(tcp),
            IntervalSet.From(udp),
            IntervalSet.From(icmp),
            IntervalSet.From(icmpV6),
            IntervalSet.From(protocols));
        return cell.Negated
            ? new ServiceSets(
                sets.Tcp.Complement(PortMax),
                sets.Udp.Complement(PortMax),
                sets.Icmp.Complement(ByteMax),
                sets.IcmpV6.Complement(ByteMax),
                sets.Protocols.Complement(ByteMax))
            : sets;
    }

    /// <summary>One rule's service cell split by table: TCP ports, UDP ports, ICMP types, ICMPv6 types, other protocol numbers.</summary>
    private sealed record ServiceSets(IntervalSet Tcp, IntervalSet Udp, IntervalSet Icmp, IntervalSet IcmpV6, IntervalSet Protocols);

    private sealed record Context(string Origin, string? VirtualSystem)
    {
        public ConfigException Fail(string field, string problem) => new(Origin, null, VirtualSystem, field, problem);
    }

    /// <summary>
    /// Resolves named groups (which may contain groups) to address sets, once each, refusing
    /// undefined names and cycles.
    /// </summary>
    private sealed class GroupResolver(ImmutableDictionary<string, ImmutableArray<AddressItem>> groups, Context context)
    {
        private readonly Dictionary<string, IntervalSet> _resolved = new(groups.KeyComparer);
        private readonly List<string> _path = [];

        /// <summary>Resolves every group, in name order so that the first error reported does not depend on hashing.</summary>
        public void ResolveAll()
        {
            var names = new List<string>(groups.Keys);
            names.Sort(StringComparer.Ordinal);
            foreach (var name in names)
                Resolve(name, referencedFrom: null);
        }

        /// <summary>The address set of one cell or group item; <paramref name="field"/> locates errors.</summary>
        public IntervalSet Item(AddressItem? item, int index, string field) => item switch
        {
            AddressItem.Any => IntervalSet.All(UInt128.MaxValue),
            AddressItem.Prefix p => IntervalSet.From([(p.Value.First, p.Value.Last)]),
            AddressItem.Group g => Resolve(g.Name, field),
            _ => throw context.Fail(field, $"item {index} is missing"),
        };

        private IntervalSet Resolve(string? name, string? referencedFrom)
        {
            if (name is null || !groups.TryGetValue(name, out var items))
                throw context.Fail(referencedFrom ?? "policy.groups", $"undefined group '{name}' ({Known()})");
            // The dictionary's own key (not the spelling used by the reference) names the group in errors.
            name = groups.TryGetKey(name, out var key) ? key : name;
            if (_resolved.TryGetValue(name, out var done))
                return done;
            var at = _path.FindIndex(p => groups.KeyComparer.Equals(p, name));
            if (at >= 0)
            {
                var cycle = string.Join(" -> ", _path.GetRange(at, _path.Count - at)) + " -> " + name;
                throw context.Fail($"policy.groups.{_path[^1]}", $"group cycle {cycle}");
            }
            _path.Add(name);
            var field = $"policy.groups.{name}";
            var parts = new List<IntervalSet>();
            if (!items.IsDefault)
            {
                for (var k = 0; k < items.Length; k++)
                    parts.Add(Item(items[k], k, field));
            }
            _path.RemoveAt(_path.Count - 1);
            // An empty group is allowed and matches nothing, as an empty network group does in
            // Check Point: a group can be emptied while the rules naming it stay.
            var set = IntervalSet.Union(parts);
            _resolved[name] = set;
            return set;
        }

        private string Known()
        {
            if (groups.Count == 0)
                return "no groups are defined";
            var names = new List<string>(groups.Keys);
            names.Sort(StringComparer.Ordinal);
            var shown = string.Join(", ", names.Take(GroupsListedInErrors));
            return names.Count > GroupsListedInErrors
                ? $"groups: {shown}, and {names.Count - GroupsListedInErrors} more"
                : $"groups: {shown}";
        }
    }
}
