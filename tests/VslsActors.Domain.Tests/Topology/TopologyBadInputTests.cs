using VslsActors.Domain.Configuration;
using VslsActors.Domain.Topology;

namespace VslsActors.Domain.Tests.Topology;

/// <summary>
/// Every kind of bad topology file is refused with one line naming the file, line, virtual
/// system and field. The second VS of <see cref="WithSecondVs"/> sits on line 5.
/// </summary>
public sealed class TopologyBadInputTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"vsls-topology-tests-{Guid.NewGuid():N}");

    public TopologyBadInputTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string WithSecondVs(string secondVs) => $$"""
        vsls {
          members = [member-1, member-2, member-3]
          virtual-systems = [
            { id = 1, name = corp-web, priority = [member-1, member-2], vlans = [101], subnets = [10.1.0.0/16] }
            {{secondVs}}
          ]
        }
        """;

    /// <summary>Writes <paramref name="text"/> to a temp file, loads it, and returns the file path and the error.</summary>
    private (string Path, ConfigException Error) LoadFails(string text)
    {
        var path = Path.Combine(_dir, "topology.conf");
        File.WriteAllText(path, text);
        return (path, Assert.Throws<ConfigException>(() => TopologyLoader.Load(path)));
    }

    private static string ParseFails(string text) =>
        Assert.Throws<ConfigException>(() => TopologyLoader.Parse(text, "t.conf")).Message;

    [Fact]
    public void A_duplicate_vs_id_is_refused_naming_the_file_the_vs_and_the_first_owner()
    {
        var (path, e) = LoadFails(WithSecondVs("{ id = 1, name = corp-mail, priority = [member-2] }"));
        Assert.Equal($"{path}:5: virtual system 1 (corp-mail): id: duplicate id 1: virtual system 1 (corp-web) (line 4) already has it", e.Message);
        Assert.Equal((path, 5, "1 (corp-mail)", "id"), (e.Origin, e.Line, e.VirtualSystem, e.Field));
    }

    [Fact]
    public void An_unknown_member_in_a_priority_list_is_refused_listing_the_members()
    {
        var (path, e) = LoadFails(WithSecondVs("{ id = 2, name = corp-mail, priority = [member-2, member-9] }"));
        Assert.Equal($"{path}:5: virtual system 2 (corp-mail): priority: unknown member 'member-9' (members: member-1, member-2, member-3)", e.Message);
    }

    [Theory]
    [InlineData("0", "must be ≥ 1 (got 0); the default is 10")]
    [InlineData("-5", "must be ≥ 1 (got -5); the default is 10")]
    [InlineData("heavy", "expected a whole number ≥ 1 but found 'heavy'")]
    [InlineData("2.5", "expected a whole number ≥ 1 but found '2.5'")]
    public void A_weight_below_one_is_refused(string weight, string problem)
    {
        var (path, e) = LoadFails(WithSecondVs($"{{ id = 2, name = corp-mail, priority = [member-2], weight = {weight} }}"));
        Assert.Equal($"{path}:5: virtual system 2 (corp-mail): weight: {problem}", e.Message);
    }

    [Theory]
    [InlineData("subnets = [10.2.0.0/33]", "subnets: '10.2.0.0/33' is not a CIDR (prefix length must be 0-32)")]
    [InlineData("subnets = [10.2.0.1/16]", "subnets: '10.2.0.1/16' is not a CIDR (host bits are set; did you mean 10.2.0.0/16?)")]
    [InlineData("subnets = [\"2001:db8::/129\"]", "subnets: '2001:db8::/129' is not a CIDR (prefix length must be 0-128)")]
    [InlineData("policy { rules = [ { source = 10.0.0.300, action = accept } ] }",
        "policy.rules[1].source: '10.0.0.300' is not an address or CIDR ('10.0.0.300' is not an IPv4 or IPv6 address)")]
    [InlineData("subnets = [10.2/16]", "subnets: '10.2/16' is not an address or CIDR (an IPv4 address has four parts, e.g. 10.1.0.0)")]
    [InlineData("policy { rules = [ { destination = 10, action = accept } ] }",
        "policy.rules[1].destination: '10' is not an address or CIDR (an IPv4 address has four parts, e.g. 10.1.0.0)")]
    [InlineData("policy { groups { g = [10.2.0.0/8] } }", "policy.groups.g: '10.2.0.0/8' is not a CIDR (host bits are set; did you mean 10.0.0.0/8?)")]
    public void A_malformed_cidr_is_refused_with_what_is_wrong(string body, string fieldAndProblem)
    {
        var (path, e) = LoadFails(WithSecondVs($"{{ id = 2, name = corp-mail, priority = [member-2], {body} }}"));
        Assert.Equal($"{path}:5: virtual system 2 (corp-mail): {fieldAndProblem}", e.Message);
    }

    [Theory]
    [InlineData("udp/2000-1000", "'udp/2000-1000' is not a port range (the low port 2000 is above the high port 1000)")]
    [InlineData("tcp/70000", "'tcp/70000' is not a port or port range (tcp/PORT or tcp/LOW-HIGH, ports 0-65535)")]
    [InlineData("tcp/80-", "'tcp/80-' is not a port or port range (tcp/PORT or tcp/LOW-HIGH, ports 0-65535)")]
    [InlineData("icmp/300", "'icmp/300' is not an ICMP type (icmp/TYPE, type 0-255)")]
    [InlineData("proto/gre", "'proto/gre' is not a protocol (proto/NUMBER, 0-255)")]
    [InlineData("http", "'http' is not a service (any, tcp/PORT, tcp/LOW-HIGH, udp/PORT, udp/LOW-HIGH, icmp, icmp/TYPE, icmpv6, icmpv6/TYPE or proto/NUMBER)")]
    public void A_malformed_port_range_or_service_is_refused(string service, string problem)
    {
        var (path, e) = LoadFails(WithSecondVs($"{{ id = 2, name = corp-mail, priority = [member-2], policy {{ rules = [ {{ name = smtp, service = [tcp/25, {service}], action = accept }} ] }} }}"));
        Assert.Equal($"{path}:5: virtual system 2 (corp-mail): policy.rules[1].service: {problem}", e.Message);
    }

    [Fact]
    public void A_rule_with_no_action_is_refused_naming_the_rule()
    {
        var (path, e) = LoadFails("""
            vsls {
              members = [member-1]
              virtual-systems = [{
                id = 3, name = finance, priority = [member-1]
                policy {
                  rules = [
                    { name = allow-web, service = tcp/443, action = accept }
                    { name = block-bad, source = { not = [10.0.0.0/8] } }
                  ]
                }
              }]
            }
            """);
        Assert.Equal($"{path}:8: virtual system 3 (finance): policy.rules[2].action: rule 'block-bad' has no action (accept, drop or reject)", e.Message);
    }

    [Fact]
    public void A_syntax_error_is_refused_with_file_line_and_column()
    {
        var (path, e) = LoadFails("""
            vsls {
              members = [member-1, member-2
              virtual-systems = []
            }
            """);
        Assert.Equal($"{path}:3: expected ',', a new line or ']' but found '=' (column 19)", e.Message);
    }

    [Theory]
    [InlineData("{ id = 2, name = corp-mail, prority = [member-2] }", "virtual system 2 (corp-mail): prority: unknown key 'prority' (did you mean 'priority'?)")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], timeouts { tcp-sesion = 10s } }",
        "virtual system 2 (corp-mail): timeouts.tcp-sesion: unknown key 'tcp-sesion' (did you mean 'tcp-session'?)")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], colour = blue }",
        "virtual system 2 (corp-mail): colour: unknown key 'colour' (expected one of: id, name, weight, priority, vlans, subnets, max-connections, packets-per-second, new-connections-per-second, sync-delay, timeouts, policy)")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], policy { rules = [ { acton = drop } ] } }",
        "virtual system 2 (corp-mail): policy.rules[1].acton: unknown key 'acton' (did you mean 'action'?)")]
    public void An_unknown_key_is_refused_with_a_suggestion(string secondVs, string message)
    {
        Assert.Equal($"t.conf:5: {message}", ParseFails(WithSecondVs(secondVs)));
    }

    [Fact]
    public void An_unknown_key_outside_the_virtual_systems_is_refused_too()
    {
        Assert.Equal(
            "t.conf:1: vsls.member: unknown key 'member' (did you mean 'members'?)",
            ParseFails("vsls { member = [a], virtual-systems = [] }"));
    }

    [Fact]
    public void Include_and_substitutions_are_refused_naming_the_file_and_line()
    {
        var (path, e) = LoadFails("include \"common.conf\"\nvsls { }");
        Assert.Equal($"{path}:1: 'include' is not supported: keep the whole configuration in one file (column 9)", e.Message);

        (path, e) = LoadFails("vsls {\n  members = [member-1]\n  defaults { weight = ${w} }\n}");
        Assert.Equal($"{path}:3: substitutions (${{...}}) are not supported (column 23)", e.Message);
    }

    [Fact]
    public void A_missing_file_is_a_config_exception_not_an_io_exception()
    {
        var path = Path.Combine(_dir, "absent.conf");
        var e = Assert.Throws<ConfigException>(() => TopologyLoader.Load(path));
        Assert.StartsWith($"{path}: cannot read the file: Could not find file", e.Message);
    }

    [Theory]
    [InlineData("{ name = corp-mail, priority = [member-2] }", "virtual system #2: id: missing")]
    [InlineData("{ id = 0, name = corp-mail, priority = [member-2] }", "virtual system #2: id: must be a whole number ≥ 1 (got '0')")]
    [InlineData("{ id = 2, priority = [member-2] }", "virtual system 2: name: missing")]
    [InlineData("{ id = 2, name = corp-web, priority = [member-2] }", "virtual system 2 (corp-web): name: duplicate name 'corp-web': virtual system 1 (corp-web) (line 4) already has it")]
    [InlineData("{ id = 2, name = corp-mail }", "virtual system 2 (corp-mail): priority: missing: with distribution = manual every virtual system needs a priority list ([member-1, member-2, …])")]
    [InlineData("{ id = 2, name = corp-mail, priority = [] }", "virtual system 2 (corp-mail): priority: the list is empty; name at least the member where the virtual system should be Active")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2, member-2] }", "virtual system 2 (corp-mail): priority: member 'member-2' is listed twice")]
    [InlineData("{ id = 2, name = corp-mail, priority = member-2 }", "virtual system 2 (corp-mail): priority: expected a list of members ([member-1, member-2]) but found 'member-2'")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], vlans = [101] }", "virtual system 2 (corp-mail): vlans: VLAN 101 is already claimed by virtual system 1 (corp-web) (line 4)")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], vlans = [4095] }", "virtual system 2 (corp-mail): vlans: '4095' is not a VLAN id (1-4094)")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], subnets = [10.1.0.0/16] }", "virtual system 2 (corp-mail): subnets: subnet 10.1.0.0/16 is already claimed by virtual system 1 (corp-web) (line 4)")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], max-connections = 0 }", "virtual system 2 (corp-mail): max-connections: must be ≥ 1 (got 0)")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], sync-delay = -1s }", "virtual system 2 (corp-mail): sync-delay: must be ≥ 0s (got -1s)")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], timeouts { udp = 0s } }", "virtual system 2 (corp-mail): timeouts.udp: must be > 0s (got 0s)")]
    [InlineData("{ id = 2, name = corp-mail, priority = [member-2], timeouts { udp = 40 } }", "virtual system 2 (corp-mail): timeouts.udp: '40' has no unit; write e.g. 40s (ms, s, m, h and d are understood)")]
    public void Virtual_system_fields_are_validated(string secondVs, string message)
    {
        Assert.Equal($"t.conf:5: {message}", ParseFails(WithSecondVs(secondVs)));
    }

    [Theory]
    [InlineData("{ destination = web, action = accept }", "policy.rules[1].destination: unknown group 'web' (this policy defines no groups)")]
    [InlineData("{ action = allow }", "policy.rules[1].action: 'allow' is not an action (accept, drop or reject)")]
    [InlineData("{ action = accept, sync = later }", "policy.rules[1].sync: 'later' is not a sync mode (immediate, delayed or none)")]
    [InlineData("{ action = drop, sync = delayed }", "policy.rules[1].sync: only accepted connections are synchronized; remove sync from this drop rule")]
    [InlineData("{ action = accept, track = alert }", "policy.rules[1].track: 'alert' is not a track mode (none or log)")]
    [InlineData("{ source = [any, 10.0.0.0/8], action = accept }", "policy.rules[1].source: 'any' cannot be combined with other items")]
    [InlineData("{ source = { not = any }, action = accept }", "policy.rules[1].source: 'not any' matches nothing")]
    [InlineData("{ source = { nott = [10.0.0.0/8] }, action = accept }", "policy.rules[1].source.nott: unknown key 'nott' (did you mean 'not'?)")]
    [InlineData("{ service = [], action = accept }", "policy.rules[1].service: the list is empty; write any to match every service")]
    [InlineData("{ name = a, action = accept }, { name = a, action = drop }", "policy.rules[2].name: duplicate rule name 'a' (rule 1 has it)")]
    [InlineData("{ source = \"bad name!\", action = accept }", "policy.rules[1].source: 'bad name!' is neither an address, a CIDR nor a group name")]
    public void Rules_are_validated(string rules, string fieldAndProblem)
    {
        var message = ParseFails(WithSecondVs($"{{ id = 2, name = corp-mail, priority = [member-2], policy {{ rules = [ {rules} ] }} }}"));
        Assert.Equal($"t.conf:5: virtual system 2 (corp-mail): {fieldAndProblem}", message);
    }

    [Theory]
    [InlineData("groups { a = [b], b = [10.0.0.0/8, a] }", "policy.groups.a: the group contains itself (a → b → a)")]
    [InlineData("groups { a = [c] }", "policy.groups.a: unknown group 'c' (groups: a)")]
    [InlineData("groups { any = [10.0.0.0/8] }", "policy.groups.any: a group name starts with a letter, has only letters, digits, '-' and '_', and is not 'any'")]
    [InlineData("groups { a.b = [10.0.0.0/8] }", "policy.groups.a: expected an address, a CIDR, a group name or a list of them but found an object (group names may not contain '.')")]
    [InlineData("groups { a = [any] }", "policy.groups.a: 'any' cannot be part of a group; use any in the rule instead")]
    public void Groups_are_validated(string groups, string fieldAndProblem)
    {
        var message = ParseFails(WithSecondVs($"{{ id = 2, name = corp-mail, priority = [member-2], policy {{ {groups} }} }}"));
        Assert.Equal($"t.conf:5: virtual system 2 (corp-mail): {fieldAndProblem}", message);
    }

    [Theory]
    [InlineData("members = [a, a], virtual-systems = []", "vsls.members: member 'a' is listed twice")]
    [InlineData("members = [], virtual-systems = []", "vsls.members: the list is empty; a cluster needs at least one member")]
    [InlineData("members = [a], virtual-systems = []", null)]
    [InlineData("members = [a], distribution = spread, virtual-systems = []", "vsls.distribution: 'spread' is not a distribution mode (manual, equal or all-on)")]
    [InlineData("members = [a], distribution = all-on, virtual-systems = []", "vsls.all-on-member: missing: distribution = all-on needs all-on-member = <member>")]
    [InlineData("members = [a], distribution = all-on, all-on-member = b, virtual-systems = []", "vsls.all-on-member: unknown member 'b' (members: a)")]
    [InlineData("members = [a], all-on-member = a, virtual-systems = []", "vsls.all-on-member: only meaningful with distribution = all-on; remove it or set distribution = all-on")]
    [InlineData("members = [a], failback = sometimes, virtual-systems = []", "vsls.failback: 'sometimes' is not a failback mode (primary-up or active-up)")]
    [InlineData("members = [a]", "vsls.virtual-systems: missing")]
    [InlineData("members = [a], defaults { weight = 0 }, virtual-systems = []", "vsls.defaults.weight: must be ≥ 1 (got 0); the default is 10")]
    public void Cluster_settings_are_validated(string body, string? fieldAndProblem)
    {
        var text = $"vsls {{ {body} }}";
        if (fieldAndProblem is null)
        {
            Assert.Empty(TopologyLoader.Parse(text, "t.conf").VirtualSystems);
            return;
        }
        Assert.Equal($"t.conf:1: {fieldAndProblem}", ParseFails(text));
    }

    [Fact]
    public void A_file_without_vsls_is_refused()
    {
        Assert.Equal("t.conf:1: vsls: missing", ParseFails("# nothing here\n"));
    }

    [Fact]
    public void The_label_falls_back_to_the_position_when_the_id_is_unusable()
    {
        var message = ParseFails(WithSecondVs("{ id = two, name = corp-mail, priority = [member-2] }"));
        Assert.Equal("t.conf:5: virtual system #2: id: must be a whole number ≥ 1 (got 'two')", message);
    }

    [Theory]
    [InlineData("packets-per-second = 0", "packets-per-second: must be ≥ 1 (got 0); leave it out or write off for no limit")]
    [InlineData("new-connections-per-second = -10", "new-connections-per-second: must be ≥ 1 (got -10); leave it out or write off for no limit")]
    [InlineData("max-connections = 0", "max-connections: must be ≥ 1 (got 0)")]
    [InlineData("packets-per-second = fast", "packets-per-second: expected a whole number ≥ 1 (per second) or off but found 'fast'")]
    public void A_limit_of_zero_or_less_is_refused_at_load_naming_the_file_the_vs_and_the_field(string limit, string message)
    {
        var (path, e) = LoadFails(WithSecondVs($"{{ id = 2, name = corp-mail, priority = [member-2], {limit} }}"));
        Assert.Equal($"{path}:5: virtual system 2 (corp-mail): {message}", e.Message);
    }

    [Fact]
    public void Rate_limits_are_read_per_vs_with_defaults_and_off()
    {
        var topology = TopologyLoader.Parse("""
            vsls {
              members = [member-1]
              defaults { packets-per-second = 20000, new-connections-per-second = 500 }
              virtual-systems = [
                { id = 1, name = a, priority = [member-1] }
                { id = 2, name = b, priority = [member-1], packets-per-second = 100, new-connections-per-second = off }
                { id = 3, name = c, priority = [member-1], packets-per-second = off }
              ]
            }
            """, "t.conf");
        Assert.Equal([(20000, 500), (100, null), (null, 500)],
            topology.VirtualSystems.Select(v => (v.PacketsPerSecond, v.NewConnectionsPerSecond)));
    }
}
