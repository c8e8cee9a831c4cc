using System.Collections.Immutable;
using CsCheck;
using VslsActors.Domain.Configuration;

namespace VslsActors.Domain.Tests.Placement;

using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;
using static PlacementTestData;

public sealed class VslsConfigFileTests
{
    private static readonly DateTimeOffset ExportedAt = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static Topology Sample(DistributionMode mode = DistributionMode.Manual) => Topology(
        Members(3),
        [Vs(1, 20, M(1), M(2), M(3)), Vs(2, 10, M(2), M(3), M(1)), Vs(12, 5, M(3))],
        mode);

    [Fact]
    public void Export_writes_a_header_the_failback_mode_and_one_aligned_line_per_vs_with_its_name()
    {
        var text = VslsConfigFile.Export(Sample(), ExportedAt);
        Assert.Equal(
            """
            # VslsActors VSLS configuration, exported 2026-11-26T12:00:00Z
            # Lines: <vs-id> <weight> <member>[,<member>...]   (first member = Active, second = Standby, rest = Backup)
            # Members missing from a line follow its listed ones, in configured order. Format: docs/vsls-config-file.md
            # Members: member-1, member-2, member-3
            # Distribution in effect at export: manual. Importing this file sets distribution = manual with the lists below, unless a 'distribution = ...' line is added.
            failback = primary-up
            1   20  member-1,member-2,member-3   # vs-1
            2   10  member-2,member-3,member-1   # vs-2
            12  5   member-3,member-1,member-2   # vs-12
            # Limits: limits <vs-id> max-connections=<n> packets-per-second=<n>|off new-connections-per-second=<n>|off
            limits 1   max-connections=100000 packets-per-second=off new-connections-per-second=off
            limits 2   max-connections=100000 packets-per-second=off new-connections-per-second=off
            limits 12  max-connections=100000 packets-per-second=off new-connections-per-second=off

            """.Replace("\r\n", "\n"),
            text);
    }

    [Fact]
    public void Parse_reads_settings_vs_lines_comments_and_partial_lists()
    {
        const string text = "# hand-edited\r\n"
                            + "distribution = all-on member-2\n"
                            + "failback = active-up   # keep VSs where they are\n"
                            + "\n"
                            + "  7 \t 15   member-3, member-1   # web\n"
                            + "3 1 member-2\n";
        var doc = VslsConfigFile.Parse(text, "vsls.txt", Members(3));
        Assert.Equal(DistributionMode.AllOn, doc.Distribution);
        Assert.Equal(M(2), doc.AllOnMember);
        Assert.Equal(FailbackMode.ActiveUp, doc.Failback);
        Assert.Equal(["7 15 member-3,member-1", "3 1 member-2"], doc.Entries.Select(e => e.ToString()));
    }

    [Fact]
    public void Export_then_parse_gives_back_the_same_document()
    {
        var gen = Gen.Select(Gen.Int[1, 13], Gen.Int[0, 80], Gen.Int[0, int.MaxValue]);
        gen.Sample((n, v, seed) =>
        {
            var rnd = new Random(seed);
            var members = Members(n);
            var entries = Enumerable.Range(1, v * 2).OrderBy(_ => rnd.Next()).Take(v)
                .Select(id => new VsPriority(
                    new VsId(id),
                    rnd.Next(5) == 0 ? VslsConfigFile.MaxWeight : rnd.Next(1, 1000),
                    [.. members.OrderBy(_ => rnd.Next()).Take(rnd.Next(1, n + 1))]))
                .ToImmutableArray();
            var distribution = rnd.Next(4) switch { 0 => (DistributionMode?)null, 1 => DistributionMode.Manual, 2 => DistributionMode.Equal, _ => DistributionMode.AllOn };
            var doc = new VslsConfigDocument(
                entries,
                distribution,
                distribution == DistributionMode.AllOn ? members[rnd.Next(n)] : null,
                rnd.Next(3) switch { 0 => null, 1 => FailbackMode.PrimaryUp, _ => FailbackMode.ActiveUp });
            var names = entries.ToDictionary(e => e.Vs, e => $"tenant #{e.Vs}\nwith a line break");

            var text = VslsConfigFile.Export(doc, ExportedAt, members, names);
            Assert.Equal(doc, VslsConfigFile.Parse(text, "export.txt", members, [.. entries.Select(e => e.Vs)]));
        }, iter: 300);
    }

    [Fact]
    public void Importing_an_export_unchanged_switches_to_manual_without_moving_any_vs()
    {
        Scenario.Gen().Sample(s =>
        {
            var text = VslsConfigFile.Export(s.Topology, ExportedAt);
            var imported = VslsConfigFile.Import(s.Topology, text, "export.txt");
            Assert.Equal(DistributionMode.Manual, imported.Vsls.Distribution);
            Assert.Equal(s.Topology.Vsls.Failback, imported.Vsls.Failback);
            Assert.Equal<VsPriority>(PlacementCalculator.ResolvePriorityLists(s.Topology), PlacementCalculator.ResolvePriorityLists(imported));
            Assert.Equal(PlacementCalculator.Compute(s.Topology, s.States, null), PlacementCalculator.Compute(imported, s.States, null));
        }, iter: 200);
    }

    [Fact]
    public void Import_sets_weights_lists_and_settings_and_keeps_the_running_lists_of_vss_it_does_not_list()
    {
        var topology = Sample(DistributionMode.Equal) with { Vsls = new VslsSettings(DistributionMode.Equal) };
        var runningBefore = PlacementCalculator.ResolvePriorityLists(topology);

        var imported = VslsConfigFile.Import(topology, "failback = active-up\n2 40 member-1,member-3\n", "edit.txt");

        Assert.Equal(new VslsSettings(DistributionMode.Manual, null, FailbackMode.ActiveUp), imported.Vsls);
        var vs2 = imported.Find(new VsId(2))!;
        Assert.Equal(40, vs2.Weight);
        Assert.Equal<MemberName>([M(1), M(3)], vs2.Priority);
        foreach (var id in new[] { 1, 12 })
        {
            var before = runningBefore.Single(p => p.Vs.Value == id);
            var after = imported.Find(new VsId(id))!;
            Assert.Equal(before.Weight, after.Weight);
            Assert.Equal<MemberName>(before.Members, after.Priority);
        }
        Assert.Equal("vs-2", vs2.Name);
    }

    [Fact]
    public void Import_with_a_bad_line_changes_nothing()
    {
        var topology = Sample();
        var e = Assert.Throws<ConfigException>(() =>
            VslsConfigFile.Import(topology, "1 30 member-2,member-1\n2 10 member-9\n", "edit.txt"));
        Assert.Equal(2, e.Line);
        Assert.Equal(20, topology.Find(new VsId(1))!.Weight);
    }

    [Fact]
    public void Apply_checks_a_document_built_in_code_like_a_parsed_one()
    {
        var doc = new VslsConfigDocument([new VsPriority(new VsId(2), 10, [M(1), M(1)])]);
        var e = Assert.Throws<ConfigException>(() => VslsConfigFile.Apply(Sample(), doc, "api"));
        Assert.Equal("api: virtual system 2: members: member 'member-1' is listed twice", e.Message);

        var unknownVs = new VslsConfigDocument([new VsPriority(new VsId(5), 10, [M(1)])]);
        e = Assert.Throws<ConfigException>(() => VslsConfigFile.Apply(Sample(), unknownVs, "api"));
        Assert.Equal("api: virtual system 5: vs-id: not a configured virtual system", e.Message);
    }

    [Theory]
    [InlineData("1 10 member-1,member-9", "vsls.txt:1: virtual system 1: members: unknown member 'member-9' (members: member-1, member-2, member-3)")]
    [InlineData("1 10 member-1,member-2,member-1", "vsls.txt:1: virtual system 1: members: member 'member-1' is listed twice")]
    [InlineData("1 10 member-1\n# note\n1 20 member-2", "vsls.txt:3: virtual system 1: vs-id: listed twice (first on line 1)")]
    [InlineData("1 0 member-1", "vsls.txt:1: virtual system 1: weight: 0 is not a weight (an integer from 1 to 1000000)")]
    [InlineData("1 -5 member-1", "vsls.txt:1: virtual system 1: weight: -5 is not a weight (an integer from 1 to 1000000)")]
    [InlineData("1 heavy member-1", "vsls.txt:1: virtual system 1: weight: 'heavy' is not a whole number")]
    [InlineData("1 2000000 member-1", "vsls.txt:1: virtual system 1: weight: 2000000 is larger than the maximum weight 1000000")]
    [InlineData("1", "vsls.txt:1: virtual system 1: weight: missing (expected '<vs-id> <weight> <member>[,<member>...]')")]
    [InlineData("1 10   # no members", "vsls.txt:1: virtual system 1: members: missing (expected '<member>[,<member>...]' after the weight)")]
    [InlineData("1 10 member-1,,member-2", "vsls.txt:1: virtual system 1: members: empty member name (stray comma?)")]
    [InlineData("1 10 member-1 member-2", "vsls.txt:1: virtual system 1: members: 'member-1 member-2' is not a member name (separate members with commas)")]
    [InlineData("4 10 member-1", "vsls.txt:1: virtual system 4: vs-id: not a configured virtual system")]
    [InlineData("\n\nhello world", "vsls.txt:3: vs-id: 'hello' is not a virtual system id (an integer ≥ 1); expected '<vs-id> <weight> <member>[,<member>...]' or '<setting> = <value>'")]
    [InlineData("0 10 member-1", "vsls.txt:1: vs-id: '0' is not a virtual system id (an integer ≥ 1); expected '<vs-id> <weight> <member>[,<member>...]' or '<setting> = <value>'")]
    [InlineData("failback = sometimes", "vsls.txt:1: failback: 'sometimes' is not a failback mode (primary-up, active-up)")]
    [InlineData("failback = active-up\nfailback = primary-up", "vsls.txt:2: failback: set twice (first on line 1)")]
    [InlineData("distribution = all-on", "vsls.txt:1: distribution: all-on needs a member (all-on <member>)")]
    [InlineData("distribution = all-on member-7", "vsls.txt:1: distribution: unknown member 'member-7' (members: member-1, member-2, member-3)")]
    [InlineData("distribution = fair", "vsls.txt:1: distribution: 'fair' is not a distribution mode (manual, equal, all-on <member>)")]
    [InlineData("weight = 10", "vsls.txt:1: weight: unknown setting 'weight' (settings: distribution, failback)")]
    public void Bad_input_is_reported_with_file_line_virtual_system_and_field(string text, string message)
    {
        var e = Assert.Throws<ConfigException>(() =>
            VslsConfigFile.Parse(text, "vsls.txt", Members(3), [new VsId(1), new VsId(2), new VsId(3)]));
        Assert.Equal(message, e.Message);
    }

    [Fact]
    public void Without_known_vss_any_id_is_accepted()
    {
        var doc = VslsConfigFile.Parse("250 10 member-1", "vsls.txt", Members(1));
        Assert.Equal(new VsId(250), Assert.Single(doc.Entries).Vs);
    }
}
