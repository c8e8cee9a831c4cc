using System.Collections.Immutable;
using VslsActors.Domain.Configuration;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Domain.Topology;

/// <summary>
/// Reads a topology file (format: <c>docs/topology.md</c>, sample: <c>hocon/topology.conf</c>) into a
/// validated <see cref="Topology"/>. Every problem — a syntax error, an unknown key, a duplicate
/// VS id, an unknown member, a malformed CIDR or service, a rule without an action — is a
/// <see cref="ConfigException"/> naming the file, line, virtual system and field; nothing else
/// escapes. The first problem found (in file order) is reported.
/// </summary>
public static class TopologyLoader
{
    /// <summary>Largest weight accepted: weights are summed over all VSs, which must not overflow.</summary>
    public const int MaxWeight = 1_000_000;

    /// <summary>Loads and validates the topology file at <paramref name="path"/>.</summary>
    /// <exception cref="ConfigException">when the file cannot be read or is not a valid topology.</exception>
    public static Topology Load(string path) => Parse(HoconReader.ReadFile(path), path);

    /// <summary>Parses and validates topology text; <paramref name="origin"/> names the source in messages.</summary>
    /// <exception cref="ConfigException">when the text is not a valid topology.</exception>
    public static Topology Parse(string text, string origin)
    {
        var root = HoconReader.Parse(text, origin);
        return new Builder(origin).Build(root);
    }

    // The keys each object may have; also the vocabulary for "did you mean" suggestions.
    private static readonly string[] s_rootKeys = ["vsls"];
    private static readonly string[] s_vslsKeys = ["members", "distribution", "all-on-member", "failback", "defaults", "virtual-systems"];
    private static readonly string[] s_defaultsKeys = ["weight", "max-connections", "packets-per-second", "new-connections-per-second", "sync-delay", "timeouts"];
    private static readonly string[] s_timeoutKeys = ["tcp-start", "tcp-session", "tcp-end", "udp", "icmp", "other"];
    private static readonly string[] s_vsKeys = ["id", "name", "weight", "priority", "vlans", "subnets", "max-connections", "packets-per-second", "new-connections-per-second", "sync-delay", "timeouts", "policy"];
    private static readonly string[] s_policyKeys = ["groups", "rules"];
    private static readonly string[] s_ruleKeys = ["name", "source", "destination", "service", "action", "track", "sync"];
    private static readonly string[] s_negationKeys = ["not"];

    private const string ServiceSyntax = "any, tcp/PORT, tcp/LOW-HIGH, udp/PORT, udp/LOW-HIGH, icmp, icmp/TYPE, icmpv6, icmpv6/TYPE or proto/NUMBER";

    /// <summary>Settings from <c>vsls.defaults</c> that every VS starts from.</summary>
    private sealed record Defaults(int Weight, int MaxConnections, TimeSpan SyncDelay, ConnectionTimeouts Timeouts,
        int? PacketsPerSecond = null, int? NewConnectionsPerSecond = null);

    private sealed class Builder(string origin)
    {
        private readonly Dictionary<int, (string Label, int Line)> _vlanOwners = [];
        private readonly Dictionary<IpPrefix, (string Label, int Line)> _subnetOwners = [];

        private ConfigException Fail(HoconValue at, string? vs, string? field, string problem) => new(origin, at.Line, vs, field, problem);

        private ConfigException Fail(int line, string? vs, string? field, string problem) => new(origin, line, vs, field, problem);

        public Topology Build(HoconValue root)
        {
            CheckKeys(root, null, "", s_rootKeys);
            var vsls = RequireObject(root, "vsls", null, "");
            CheckKeys(vsls, null, "vsls", s_vslsKeys);

            var members = ParseMembers(Require(vsls, "members", null, "vsls"));
            var settings = ParseSettings(vsls, members);
            var defaults = Get(vsls, "defaults") is { } d
                ? ParseDefaults(d)
                : new Defaults(VirtualSystemConfig.DefaultWeight, VirtualSystemConfig.DefaultMaxConnections, VirtualSystemConfig.DefaultSyncDelay, ConnectionTimeouts.Default);

            var list = Require(vsls, "virtual-systems", null, "vsls");
            if (list.Kind != HoconKind.Array)
                throw Fail(list, null, "vsls.virtual-systems", $"expected a list of virtual systems ([ {{ id = 1, … }}, … ]) but found {list.Describe()}");
            var ids = new Dictionary<int, (string Label, int Line)>();
            var names = new Dictionary<string, (string Label, int Line)>(StringComparer.Ordinal);
            var systems = new List<VirtualSystemConfig>(list.Items.Count);
            for (var i = 0; i < list.Items.Count; i++)
                systems.Add(ParseVirtualSystem(list.Items[i], i + 1, members, settings, defaults, ids, names));
            systems.Sort(static (a, b) => a.Id.CompareTo(b.Id));
            return new Topology(members, [.. systems], settings);
        }

        private ImmutableArray<MemberName> ParseMembers(HoconValue v)
        {
            const string field = "vsls.members";
            if (v.Kind != HoconKind.Array)
                throw Fail(v, null, field, $"expected a list of member names ([member-1, member-2]) but found {v.Describe()}");
            if (v.Items.Count == 0)
                throw Fail(v, null, field, "the list is empty; a cluster needs at least one member");
            var result = ImmutableArray.CreateBuilder<MemberName>(v.Items.Count);
            foreach (var item in v.Items)
            {
                if (!item.TryGetString(out var s) || !MemberName.IsValid(s))
                    throw Fail(item, null, field, $"{item.Describe()} is not a member name (1-64 letters, digits, '-', '_' or '.')");
                var name = new MemberName(s);
                if (result.Contains(name))
                    throw Fail(item, null, field, $"member '{s}' is listed twice");
                result.Add(name);
            }
            return result.MoveToImmutable();
        }

        private VslsSettings ParseSettings(HoconValue vsls, ImmutableArray<MemberName> members)
        {
            var distribution = DistributionMode.Manual;
            var distributionNode = Get(vsls, "distribution");
            if (distributionNode is not null)
            {
                distribution = Word(distributionNode, null, "vsls.distribution") switch
                {
                    "manual" => DistributionMode.Manual,
                    "equal" => DistributionMode.Equal,
                    "all-on" => DistributionMode.AllOn,
                    var other => throw Fail(distributionNode, null, "vsls.distribution", $"'{other}' is not a distribution mode (manual, equal or all-on)"),
                };
            }
            MemberName? allOn = null;
            var allOnNode = Get(vsls, "all-on-member");
            if (distribution == DistributionMode.AllOn)
            {
                if (allOnNode is null)
                    throw Fail(distributionNode!, null, "vsls.all-on-member", "missing: distribution = all-on needs all-on-member = <member>");
                allOn = MemberOf(allOnNode, members, null, "vsls.all-on-member");
            }
            else if (allOnNode is not null)
            {
                throw Fail(allOnNode, null, "vsls.all-on-member", "only meaningful with distribution = all-on; remove it or set distribution = all-on");
            }
            var failback = FailbackMode.PrimaryUp;
            if (Get(vsls, "failback") is { } failbackNode)
            {
                failback = Word(failbackNode, null, "vsls.failback") switch
                {
                    "primary-up" => FailbackMode.PrimaryUp,
                    "active-up" => FailbackMode.ActiveUp,
                    var other => throw Fail(failbackNode, null, "vsls.failback", $"'{other}' is not a failback mode (primary-up or active-up)"),
                };
            }
            return new VslsSettings(distribution, allOn, failback);
        }

        private Defaults ParseDefaults(HoconValue d)
        {
            const string prefix = "vsls.defaults";
            if (d.Kind != HoconKind.Object)
                throw Fail(d, null, prefix, $"expected an object but found {d.Describe()}");
            CheckKeys(d, null, prefix, s_defaultsKeys);
            return new Defaults(
                Get(d, "weight") is { } w ? Weight(w, null, prefix + ".weight") : VirtualSystemConfig.DefaultWeight,
                Get(d, "max-connections") is { } m ? MaxConnections(m, null, prefix + ".max-connections") : VirtualSystemConfig.DefaultMaxConnections,
                Get(d, "sync-delay") is { } s ? SyncDelay(s, null, prefix + ".sync-delay") : VirtualSystemConfig.DefaultSyncDelay,
                Get(d, "timeouts") is { } t ? Timeouts(t, ConnectionTimeouts.Default, null, prefix + ".timeouts") : ConnectionTimeouts.Default,
                Get(d, "packets-per-second") is { } pps ? Rate(pps, null, prefix + ".packets-per-second") : null,
                Get(d, "new-connections-per-second") is { } cps ? Rate(cps, null, prefix + ".new-connections-per-second") : null);
        }

        private VirtualSystemConfig ParseVirtualSystem(
            HoconValue v, int position, ImmutableArray<MemberName> members, VslsSettings settings, Defaults defaults,
            Dictionary<int, (string Label, int Line)> ids, Dictionary<string, (string Label, int Line)> names)
        {
            var positional = $"#{position}";
            if (v.Kind != HoconKind.Object)
                throw Fail(v, positional, null, $"expected an object ({{ id = 1, name = …, … }}) but found {v.Describe()}");

            // The label names the VS as precisely as the file allows, before anything is validated,
            // so that even an unknown key is reported against "3 (corp-web)" rather than "#3".
            var label = ProvisionalLabel(v, positional);
            CheckKeys(v, label, "", s_vsKeys);

            var idNode = Require(v, "id", positional, "");
            if (!idNode.TryGetInt32(out var idValue, out _) || idValue < 1)
                throw Fail(idNode, positional, "id", $"must be a whole number ≥ 1 (got {idNode.Describe()})");
            var id = new VsId(idValue);

            var nameNode = Require(v, "name", id.ToString(), "");
            if (!nameNode.TryGetString(out var name) || !MemberName.IsValid(name))
                throw Fail(nameNode, id.ToString(), "name", $"{nameNode.Describe()} is not a name (1-64 letters, digits, '-', '_' or '.')");
            label = $"{id} ({name})";

            if (ids.TryGetValue(idValue, out var clash))
                throw Fail(idNode, label, "id", $"duplicate id {idValue}: virtual system {clash.Label} (line {clash.Line}) already has it");
            ids[idValue] = (label, idNode.Line);
            if (names.TryGetValue(name, out clash))
                throw Fail(nameNode, label, "name", $"duplicate name '{name}': virtual system {clash.Label} (line {clash.Line}) already has it");
            names[name] = (label, nameNode.Line);

            var weight = Get(v, "weight") is { } w ? Weight(w, label, "weight") : defaults.Weight;
            var priority = ParsePriority(v, members, settings, label);
            var vlans = ParseVlans(Get(v, "vlans"), label);
            var subnets = ParseSubnets(Get(v, "subnets"), label);
            var maxConnections = Get(v, "max-connections") is { } m ? MaxConnections(m, label, "max-connections") : defaults.MaxConnections;
            var syncDelay = Get(v, "sync-delay") is { } s ? SyncDelay(s, label, "sync-delay") : defaults.SyncDelay;
            var packetsPerSecond = Get(v, "packets-per-second") is { } pps ? Rate(pps, label, "packets-per-second") : defaults.PacketsPerSecond;
            var newConnectionsPerSecond = Get(v, "new-connections-per-second") is { } cps ? Rate(cps, label, "new-connections-per-second") : defaults.NewConnectionsPerSecond;
            var timeouts = Get(v, "timeouts") is { } t ? Timeouts(t, defaults.Timeouts, label, "timeouts") : defaults.Timeouts;
            var policy = Get(v, "policy") is { } p ? ParsePolicy(p, label) : PolicyDefinition.Empty;
            CheckPolicyCompiles(policy, Get(v, "policy") ?? v, label);

            return new VirtualSystemConfig(id, name, weight, priority, policy, timeouts, maxConnections, syncDelay, vlans, subnets,
                packetsPerSecond, newConnectionsPerSecond);
        }

        /// <summary>
        /// Compiles the policy once at load time, so that whatever the compiler refuses (and
        /// the parser above did not already catch) fails the load with the file, the line of
        /// the policy, the VS and the field, instead of failing later on a member.
        /// </summary>
        private void CheckPolicyCompiles(PolicyDefinition policy, HoconValue at, string label)
        {
            try
            {
                PolicyCompiler.Compile(policy, origin, label);
            }
            catch (ConfigException e)
            {
                throw Fail(at, label, e.Field, e.Problem);
            }
        }

        private static string ProvisionalLabel(HoconValue v, string positional)
        {
            if (!v.TryGetField("id", out var idField) || !idField.Value.TryGetInt32(out var id, out _) || id < 1)
                return positional;
            var idText = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return v.TryGetField("name", out var nameField) && nameField.Value.TryGetString(out var name) && MemberName.IsValid(name)
                ? $"{idText} ({name})"
                : idText;
        }

        private ImmutableArray<MemberName> ParsePriority(HoconValue v, ImmutableArray<MemberName> members, VslsSettings settings, string label)
        {
            var node = Get(v, "priority");
            if (node is null)
            {
                // Only a manual distribution reads priority lists; equal and all-on generate them,
                // so there the configured member order is a placeholder placement replaces.
                if (settings.Distribution == DistributionMode.Manual)
                    throw Fail(v, label, "priority", "missing: with distribution = manual every virtual system needs a priority list ([member-1, member-2, …])");
                return members;
            }
            if (node.Kind != HoconKind.Array)
                throw Fail(node, label, "priority", $"expected a list of members ([member-1, member-2]) but found {node.Describe()}");
            if (node.Items.Count == 0)
                throw Fail(node, label, "priority", "the list is empty; name at least the member where the virtual system should be Active");
            var result = ImmutableArray.CreateBuilder<MemberName>(node.Items.Count);
            foreach (var item in node.Items)
            {
                var member = MemberOf(item, members, label, "priority");
                if (result.Contains(member))
                    throw Fail(item, label, "priority", $"member '{member}' is listed twice");
                result.Add(member);
            }
            return result.MoveToImmutable();
        }

        private MemberName MemberOf(HoconValue item, ImmutableArray<MemberName> members, string? label, string field)
        {
            if (!item.TryGetString(out var s) || !MemberName.IsValid(s) || !members.Contains(new MemberName(s)))
                throw Fail(item, label, field, $"unknown member {item.Describe()} (members: {string.Join(", ", members)})");
            return new MemberName(s);
        }

        private ImmutableArray<int> ParseVlans(HoconValue? node, string label)
        {
            if (node is null)
                return [];
            if (node.Kind != HoconKind.Array)
                throw Fail(node, label, "vlans", $"expected a list of VLAN ids ([101, 102]) but found {node.Describe()}");
            var result = ImmutableArray.CreateBuilder<int>(node.Items.Count);
            foreach (var item in node.Items)
            {
                if (!item.TryGetInt32(out var vlan, out _) || vlan is < 1 or > 4094)
                    throw Fail(item, label, "vlans", $"{item.Describe()} is not a VLAN id (1-4094)");
                if (_vlanOwners.TryGetValue(vlan, out var owner))
                    throw Fail(item, label, "vlans", owner.Label == label
                        ? $"VLAN {vlan} is listed twice"
                        : $"VLAN {vlan} is already claimed by virtual system {owner.Label} (line {owner.Line})");
                _vlanOwners[vlan] = (label, item.Line);
                result.Add(vlan);
            }
            return result.MoveToImmutable();
        }

        private ImmutableArray<IpPrefix> ParseSubnets(HoconValue? node, string label)
        {
            if (node is null)
                return [];
            if (node.Kind != HoconKind.Array)
                throw Fail(node, label, "subnets", $"expected a list of CIDRs ([10.1.0.0/16, \"2001:db8:1::/48\"]) but found {node.Describe()}");
            var result = ImmutableArray.CreateBuilder<IpPrefix>(node.Items.Count);
            foreach (var item in node.Items)
            {
                if (!item.TryGetString(out var s))
                    throw Fail(item, label, "subnets", $"expected a CIDR but found {item.Describe()}");
                if (!TryParsePrefix(s, out var prefix, out var error))
                    throw Fail(item, label, "subnets", error);
                // Equal prefixes in two VSs would make classification ambiguous; nested prefixes
                // of different lengths are fine (the longest match wins).
                if (_subnetOwners.TryGetValue(prefix, out var owner))
                    throw Fail(item, label, "subnets", owner.Label == label
                        ? $"subnet {prefix} is listed twice"
                        : $"subnet {prefix} is already claimed by virtual system {owner.Label} (line {owner.Line})");
                _subnetOwners[prefix] = (label, item.Line);
                result.Add(prefix);
            }
            return result.MoveToImmutable();
        }

        private int Weight(HoconValue node, string? label, string field)
        {
            if (!node.TryGetInt32(out var w, out _))
                throw Fail(node, label, field, $"expected a whole number ≥ 1 but found {node.Describe()}");
            if (w < 1)
                throw Fail(node, label, field, $"must be ≥ 1 (got {w}); the default is {VirtualSystemConfig.DefaultWeight}");
            if (w > MaxWeight)
                throw Fail(node, label, field, $"must be ≤ {MaxWeight} (got {w})");
            return w;
        }

        private int MaxConnections(HoconValue node, string? label, string field)
        {
            if (!node.TryGetInt32(out var n, out _))
                throw Fail(node, label, field, $"expected a whole number ≥ 1 but found {node.Describe()}");
            if (n < 1)
                throw Fail(node, label, field, $"must be ≥ 1 (got {n})");
            return n;
        }

        /// <summary>A rate limit: a whole number from 1 to <see cref="VirtualSystems.TokenBucket.MaxRate"/>, or <c>off</c> (null: unlimited).</summary>
        private int? Rate(HoconValue node, string? label, string field)
        {
            if (node.TryGetString(out var word) && word == "off")
                return null;
            if (!node.TryGetInt32(out var n, out _))
                throw Fail(node, label, field, $"expected a whole number ≥ 1 (per second) or off but found {node.Describe()}");
            if (n < 1)
                throw Fail(node, label, field, $"must be ≥ 1 (got {n}); leave it out or write off for no limit");
            if (n > VirtualSystems.TokenBucket.MaxRate)
                throw Fail(node, label, field, $"must be ≤ {VirtualSystems.TokenBucket.MaxRate} (got {n})");
            return n;
        }

        private TimeSpan SyncDelay(HoconValue node, string? label, string field)
        {
            var d = Duration(node, label, field);
            if (d < TimeSpan.Zero)
                throw Fail(node, label, field, $"must be ≥ 0s (got {node.Text})");
            return d;
        }

        private TimeSpan Duration(HoconValue node, string? label, string field) =>
            node.TryGetDuration(out var d, out var error) ? d : throw Fail(node, label, field, error);

        private ConnectionTimeouts Timeouts(HoconValue node, ConnectionTimeouts basis, string? label, string field)
        {
            if (node.Kind != HoconKind.Object)
                throw Fail(node, label, field, $"expected an object ({{ tcp-session = 3600s, … }}) but found {node.Describe()}");
            CheckKeys(node, label, field, s_timeoutKeys);
            TimeSpan One(string key, TimeSpan inherited)
            {
                if (Get(node, key) is not { } v)
                    return inherited;
                var d = Duration(v, label, $"{field}.{key}");
                if (d <= TimeSpan.Zero)
                    throw Fail(v, label, $"{field}.{key}", $"must be > 0s (got {v.Text})");
                return d;
            }
            return new ConnectionTimeouts(
                One("tcp-start", basis.TcpStart),
                One("tcp-session", basis.TcpSession),
                One("tcp-end", basis.TcpEnd),
                One("udp", basis.Udp),
                One("icmp", basis.Icmp),
                One("other", basis.Other));
        }

        private PolicyDefinition ParsePolicy(HoconValue node, string label)
        {
            if (node.Kind != HoconKind.Object)
                throw Fail(node, label, "policy", $"expected an object ({{ groups {{ … }}, rules = [ … ] }}) but found {node.Describe()}");
            CheckKeys(node, label, "policy", s_policyKeys);
            var groups = ParseGroups(Get(node, "groups"), label);
            var rulesNode = Get(node, "rules");
            if (rulesNode is null)
                return new PolicyDefinition(groups, []);
            if (rulesNode.Kind != HoconKind.Array)
                throw Fail(rulesNode, label, "policy.rules", $"expected a list of rules ([ {{ name = …, action = accept }}, … ]) but found {rulesNode.Describe()}");
            var rules = ImmutableArray.CreateBuilder<PolicyRule>(rulesNode.Items.Count);
            var ruleNames = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < rulesNode.Items.Count; i++)
                rules.Add(ParseRule(rulesNode.Items[i], i + 1, groups, ruleNames, label));
            return new PolicyDefinition(groups, rules.MoveToImmutable());
        }

        private ImmutableDictionary<string, ImmutableArray<AddressItem>> ParseGroups(HoconValue? node, string label)
        {
            if (node is null)
                return ImmutableDictionary<string, ImmutableArray<AddressItem>>.Empty;
            if (node.Kind != HoconKind.Object)
                throw Fail(node, label, "policy.groups", $"expected an object ({{ web-servers = [10.1.1.0/24] }}) but found {node.Describe()}");
            foreach (var f in node.Fields)
            {
                if (!IsGroupName(f.Key) || f.Key == "any")
                    throw Fail(f.Line, label, $"policy.groups.{f.Key}", "a group name starts with a letter, has only letters, digits, '-' and '_', and is not 'any'");
            }
            var groups = ImmutableDictionary.CreateBuilder<string, ImmutableArray<AddressItem>>(StringComparer.Ordinal);
            foreach (var f in node.Fields)
            {
                var field = $"policy.groups.{f.Key}";
                if (f.Value.Kind == HoconKind.Object)
                    throw Fail(f.Value, label, field, "expected an address, a CIDR, a group name or a list of them but found an object (group names may not contain '.')");
                var items = AddressItems(f.Value, node, label, field);
                foreach (var item in items)
                {
                    if (item is AddressItem.Any)
                        throw Fail(f.Value, label, field, "'any' cannot be part of a group; use any in the rule instead");
                }
                groups[f.Key] = items;
            }
            // A group that contains itself, directly or through others, has no meaning.
            var state = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var f in node.Fields)
                CheckNoCycle(f.Key, groups, state, new List<string>(), node, label);
            return groups.ToImmutable();
        }

        private void CheckNoCycle(string group, ImmutableDictionary<string, ImmutableArray<AddressItem>>.Builder groups,
            Dictionary<string, int> state, List<string> path, HoconValue groupsNode, string label)
        {
            if (state.TryGetValue(group, out var s) && s == 2)
                return;
            path.Add(group);
            if (s == 1)
            {
                var start = path.IndexOf(group);
                groupsNode.TryGetField(path[start], out var f);
                throw Fail(f.Line, label, $"policy.groups.{path[start]}", $"the group contains itself ({string.Join(" → ", path.Skip(start))})");
            }
            state[group] = 1;
            foreach (var item in groups[group])
            {
                if (item is AddressItem.Group g)
                    CheckNoCycle(g.Name, groups, state, path, groupsNode, label);
            }
            state[group] = 2;
            path.RemoveAt(path.Count - 1);
        }

        private PolicyRule ParseRule(HoconValue node, int number, ImmutableDictionary<string, ImmutableArray<AddressItem>> groups,
            Dictionary<string, int> ruleNames, string label)
        {
            var prefix = $"policy.rules[{number}]";
            if (node.Kind != HoconKind.Object)
                throw Fail(node, label, prefix, $"expected a rule ({{ name = …, source = …, destination = …, service = …, action = … }}) but found {node.Describe()}");
            CheckKeys(node, label, prefix, s_ruleKeys);

            var name = $"rule-{number}";
            if (Get(node, "name") is { } nameNode)
            {
                if (!nameNode.TryGetString(out name) || name.Length == 0)
                    throw Fail(nameNode, label, prefix + ".name", $"expected a non-empty name but found {nameNode.Describe()}");
            }
            if (ruleNames.TryGetValue(name, out var other))
                throw Fail(Get(node, "name") ?? node, label, prefix + ".name", $"duplicate rule name '{name}' (rule {other} has it)");
            ruleNames[name] = number;

            var source = Get(node, "source") is { } src ? AddressCellOf(src, groups, label, prefix + ".source") : AddressCell.Any;
            var destination = Get(node, "destination") is { } dst ? AddressCellOf(dst, groups, label, prefix + ".destination") : AddressCell.Any;
            var service = Get(node, "service") is { } svc ? ServiceCellOf(svc, label, prefix + ".service") : ServiceCell.Any;

            var actionNode = Get(node, "action")
                ?? throw Fail(node, label, prefix + ".action", $"rule '{name}' has no action (accept, drop or reject)");
            var action = Word(actionNode, label, prefix + ".action") switch
            {
                "accept" => RuleAction.Accept,
                "drop" => RuleAction.Drop,
                "reject" => RuleAction.Reject,
                var a => throw Fail(actionNode, label, prefix + ".action", $"'{a}' is not an action (accept, drop or reject)"),
            };
            var track = TrackMode.None;
            if (Get(node, "track") is { } trackNode)
            {
                track = Word(trackNode, label, prefix + ".track") switch
                {
                    "none" => TrackMode.None,
                    "log" => TrackMode.Log,
                    var t => throw Fail(trackNode, label, prefix + ".track", $"'{t}' is not a track mode (none or log)"),
                };
            }
            var sync = SyncMode.Immediate;
            if (Get(node, "sync") is { } syncNode)
            {
                sync = Word(syncNode, label, prefix + ".sync") switch
                {
                    "immediate" => SyncMode.Immediate,
                    "delayed" => SyncMode.Delayed,
                    "none" => SyncMode.None,
                    var t => throw Fail(syncNode, label, prefix + ".sync", $"'{t}' is not a sync mode (immediate, delayed or none)"),
                };
                if (sync != SyncMode.Immediate && action != RuleAction.Accept)
                    throw Fail(syncNode, label, prefix + ".sync", $"only accepted connections are synchronized; remove sync from this {actionNode.Text} rule");
            }
            return new PolicyRule(name, source, destination, service, action, track, sync);
        }

        private AddressCell AddressCellOf(HoconValue node, IReadOnlyDictionary<string, ImmutableArray<AddressItem>> groups, string label, string field)
        {
            var (items, negated) = Negation(node, label, field);
            var parsed = AddressItems(items, groups, label, field);
            if (parsed.Length == 1 && parsed[0] is AddressItem.Any)
            {
                if (negated)
                    throw Fail(items, label, field, "'not any' matches nothing");
                // The shared instance: consumers may recognise "any" by reference, as for omitted cells.
                return AddressCell.Any;
            }
            return new AddressCell(parsed, negated);
        }

        private ServiceCell ServiceCellOf(HoconValue node, string label, string field)
        {
            var (items, negated) = Negation(node, label, field);
            var list = Listed(items, label, field, "service");
            var result = ImmutableArray.CreateBuilder<ServiceItem>(list.Count);
            foreach (var item in list)
            {
                if (!item.TryGetString(out var s))
                    throw Fail(item, label, field, $"expected a service ({ServiceSyntax}) but found {item.Describe()}");
                if (!TryParseService(s, out var service, out var error))
                    throw Fail(item, label, field, error);
                result.Add(service);
            }
            CheckAnyAlone(result, static i => i is ServiceItem.Any, items, label, field);
            if (result.Count == 1 && result[0] is ServiceItem.Any)
            {
                if (negated)
                    throw Fail(items, label, field, "'not any' matches nothing");
                return ServiceCell.Any;
            }
            return new ServiceCell(result.MoveToImmutable(), negated);
        }

        /// <summary>A cell is a value or a list, or <c>{ not = … }</c> for the negated cell.</summary>
        private (HoconValue Items, bool Negated) Negation(HoconValue node, string label, string field)
        {
            if (node.Kind != HoconKind.Object)
                return (node, false);
            CheckKeys(node, label, field, s_negationKeys);
            var inner = Require(node, "not", label, field);
            if (inner.Kind == HoconKind.Object)
                throw Fail(inner, label, field + ".not", "expected a value or a list but found an object");
            return (inner, true);
        }

        private IReadOnlyList<HoconValue> Listed(HoconValue node, string label, string field, string what)
        {
            if (node.Kind == HoconKind.Array)
            {
                if (node.Items.Count == 0)
                    throw Fail(node, label, field, $"the list is empty; write any to match every {what}");
                return node.Items;
            }
            if (node.Kind == HoconKind.Object)
                throw Fail(node, label, field, $"expected a {what}, a list or {{ not = … }} but found an object");
            return [node];
        }

        /// <summary>Address items of a cell or group; group names must exist in <paramref name="groups"/> (an object node or a dictionary).</summary>
        private ImmutableArray<AddressItem> AddressItems(HoconValue node, object groups, string label, string field)
        {
            var list = Listed(node, label, field, "address");
            var result = ImmutableArray.CreateBuilder<AddressItem>(list.Count);
            foreach (var item in list)
            {
                if (!item.TryGetString(out var s) || item.Kind != HoconKind.String && item.Kind != HoconKind.Number)
                    throw Fail(item, label, field, $"expected an address, a CIDR or a group name but found {item.Describe()}");
                result.Add(AddressItemOf(item, s, groups, label, field));
            }
            CheckAnyAlone(result, static i => i is AddressItem.Any, node, label, field);
            return result.MoveToImmutable();
        }

        private AddressItem AddressItemOf(HoconValue item, string s, object groups, string label, string field)
        {
            if (s == "any")
                return new AddressItem.Any();
            // Anything that starts like an address is one (so a typo in a CIDR is reported as
            // such, not as an unknown group); a word is a group name.
            if (s.Length > 0 && (char.IsAsciiDigit(s[0]) || s.Contains(':') || s.Contains('/')))
            {
                if (!TryParsePrefix(s, out var prefix, out var error))
                    throw Fail(item, label, field, error);
                return new AddressItem.Prefix(prefix);
            }
            if (!IsGroupName(s))
                throw Fail(item, label, field, $"'{s}' is neither an address, a CIDR nor a group name");
            var (exists, known) = groups switch
            {
                HoconValue g => (g.TryGetField(s, out _), g.Fields.Select(f => f.Key)),
                IReadOnlyDictionary<string, ImmutableArray<AddressItem>> d => (d.ContainsKey(s), d.Keys.Order(StringComparer.Ordinal)),
                _ => throw new InvalidOperationException("groups must be an object node or a dictionary"),
            };
            if (!exists)
            {
                var names = known.ToList();
                throw Fail(item, label, field, names.Count == 0
                    ? $"unknown group '{s}' (this policy defines no groups)"
                    : $"unknown group '{s}' (groups: {string.Join(", ", names)})");
            }
            return new AddressItem.Group(s);
        }

        private void CheckAnyAlone<T>(IReadOnlyList<T> items, Func<T, bool> isAny, HoconValue at, string label, string field)
        {
            if (items.Count < 2)
                return;
            foreach (var i in items)
            {
                if (isAny(i))
                    throw Fail(at, label, field, "'any' cannot be combined with other items");
            }
        }

        private static bool IsGroupName(string s)
        {
            if (s.Length is 0 or > 64 || !char.IsAsciiLetter(s[0]))
                return false;
            foreach (var c in s)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                    return false;
            }
            return true;
        }

        private string Word(HoconValue node, string? label, string field) =>
            node.Kind is HoconKind.String && node.TryGetString(out var s)
                ? s
                : throw Fail(node, label, field, $"expected a word but found {node.Describe()}");

        private static HoconValue? Get(HoconValue obj, string key) => obj.TryGetField(key, out var f) ? f.Value : null;

        private HoconValue Require(HoconValue obj, string key, string? label, string prefix) =>
            Get(obj, key) ?? throw Fail(obj, label, Join(prefix, key), "missing");

        private HoconValue RequireObject(HoconValue obj, string key, string? label, string prefix)
        {
            var v = Require(obj, key, label, prefix);
            return v.Kind == HoconKind.Object ? v : throw Fail(v, label, Join(prefix, key), $"expected an object but found {v.Describe()}");
        }

        private static string Join(string prefix, string key) => prefix.Length == 0 ? key : $"{prefix}.{key}";

        /// <summary>Refuses keys the format does not have: a typo must not silently become a default.</summary>
        private void CheckKeys(HoconValue obj, string? label, string prefix, string[] known)
        {
            foreach (var f in obj.Fields)
            {
                if (Array.IndexOf(known, f.Key) >= 0)
                    continue;
                var suggestion = Closest(f.Key, known);
                var hint = suggestion is null ? $"expected one of: {string.Join(", ", known)}" : $"did you mean '{suggestion}'?";
                throw Fail(f.Line, label, Join(prefix, f.Key), $"unknown key '{f.Key}' ({hint})");
            }
        }

        private static string? Closest(string key, string[] known)
        {
            string? best = null;
            var bestDistance = int.MaxValue;
            foreach (var k in known)
            {
                var d = Levenshtein(key, k);
                if (d < bestDistance)
                {
                    bestDistance = d;
                    best = k;
                }
            }
            // Two edits catch the usual slips (a missing, doubled or swapped letter) without
            // suggesting 'udp' for 'tcp'.
            return bestDistance <= 2 && bestDistance < key.Length ? best : null;
        }

        /// <summary>Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment).</summary>
        private static int Levenshtein(string a, string b)
        {
            var d = new int[a.Length + 1, b.Length + 1];
            for (var i = 0; i <= a.Length; i++)
                d[i, 0] = i;
            for (var j = 0; j <= b.Length; j++)
                d[0, j] = j;
            for (var i = 1; i <= a.Length; i++)
            {
                for (var j = 1; j <= b.Length; j++)
                {
                    var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                    if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                        d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
            return d[a.Length, b.Length];
        }
    }

    /// <summary>
    /// Parses one service item: <c>any</c>, <c>tcp/80</c>, <c>udp/1000-2000</c>, <c>tcp</c> / <c>udp</c>
    /// (every port), <c>icmp</c>, <c>icmp/8</c>, <c>icmpv6</c>, <c>icmpv6/128</c>, <c>proto/47</c>.
    /// On failure <paramref name="error"/> says what is wrong.
    /// </summary>
    public static bool TryParseService(string text, out ServiceItem service, out string error)
    {
        service = null!;
        error = "";
        if (text == "any")
        {
            service = new ServiceItem.Any();
            return true;
        }
        var slash = text.IndexOf('/');
        var head = slash < 0 ? text : text[..slash];
        var tail = slash < 0 ? null : text[(slash + 1)..];
        switch (head)
        {
            case "tcp" or "udp":
            {
                var protocol = head == "tcp" ? IpProtocol.Tcp : IpProtocol.Udp;
                if (tail is null)
                {
                    service = new ServiceItem.Ports(protocol, 0, ushort.MaxValue);
                    return true;
                }
                var dash = tail.IndexOf('-');
                var lowText = dash < 0 ? tail : tail[..dash];
                var highText = dash < 0 ? tail : tail[(dash + 1)..];
                if (!TryPort(lowText, out var low) || !TryPort(highText, out var high))
                {
                    error = $"'{text}' is not a port or port range ({head}/PORT or {head}/LOW-HIGH, ports 0-65535)";
                    return false;
                }
                if (low > high)
                {
                    error = $"'{text}' is not a port range (the low port {low} is above the high port {high})";
                    return false;
                }
                service = new ServiceItem.Ports(protocol, low, high);
                return true;
            }
            case "icmp" or "icmpv6":
            {
                var protocol = head == "icmp" ? IpProtocol.Icmp : IpProtocol.IcmpV6;
                if (tail is null)
                {
                    service = new ServiceItem.IcmpType(protocol, null);
                    return true;
                }
                if (!byte.TryParse(tail, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var type))
                {
                    error = $"'{text}' is not an ICMP type ({head}/TYPE, type 0-255)";
                    return false;
                }
                service = new ServiceItem.IcmpType(protocol, type);
                return true;
            }
            case "proto":
                if (tail is null || !byte.TryParse(tail, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number))
                {
                    error = $"'{text}' is not a protocol (proto/NUMBER, 0-255)";
                    return false;
                }
                service = new ServiceItem.WholeProtocol((IpProtocol)number);
                return true;
            default:
                error = $"'{text}' is not a service ({ServiceSyntax})";
                return false;
        }
    }

    /// <summary>
    /// <see cref="IpPrefix.TryParse"/>, but refusing the classic shorthand forms <c>10.1</c> or <c>10</c>,
    /// which the platform parser reads as 10.0.0.1 and 0.0.0.10: in a firewall file they are typos.
    /// </summary>
    private static bool TryParsePrefix(string text, out IpPrefix prefix, out string error)
    {
        var slash = text.IndexOf('/');
        var address = slash < 0 ? text : text[..slash];
        if (!address.Contains(':') && address.Count(c => c == '.') != 3)
        {
            prefix = default;
            error = $"'{text}' is not an address or CIDR (an IPv4 address has four parts, e.g. 10.1.0.0)";
            return false;
        }
        return IpPrefix.TryParse(text, out prefix, out error);
    }

    private static bool TryPort(string text, out ushort port) =>
        ushort.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port);
}
