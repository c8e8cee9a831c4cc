using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Registry;
using VslsActors.Cluster.Tests.Support;
using VslsActors.Domain;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Tests.Registry;

/// <summary>The registry's pure decisions: validation as the VSLS file, and state that reproduces what ran.</summary>
public sealed class RegistryLogicTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private static readonly Topology File = TestTopologies.Manual(
        ["member-1", "member-2", "member-3"], ["member-1,member-2", "member-2,member-3", "member-3"]);

    [Fact]
    public void The_initial_state_reproduces_the_topology_files_lists_and_modes()
    {
        var state = RegistryLogic.Initial(File, Now);
        var applied = RegistryLogic.Apply(File, state);

        Assert.Equal(0, state.Version);
        Assert.Equal(PlacementCalculator.ResolvePriorityLists(File).ToArray(), PlacementCalculator.ResolvePriorityLists(applied).ToArray());
        Assert.Equal(File.Vsls, applied.Vsls);
    }

    [Fact]
    public void Set_priority_changes_one_vs_switches_to_manual_and_bumps_the_version()
    {
        var state = RegistryLogic.Initial(File, Now);
        var d = RegistryLogic.Decide(File, state, new RegistryCommands.SetPriority(new VsId(1), ["member-3", "member-1"], "ops@member-1"), Now);

        Assert.Null(d.Rejection);
        Assert.Equal(1, d.State!.Version);
        var applied = RegistryLogic.Apply(File, d.State);
        Assert.Equal([new MemberName("member-3"), new MemberName("member-1")], applied.Find(new VsId(1))!.Priority.Take(2));
        Assert.Equal("member-2", applied.Find(new VsId(2))!.Priority[0].Value);
        Assert.Equal("set priority of VS 1 to member-3,member-1", d.Description);
    }

    [Fact]
    public void An_unknown_member_is_rejected_with_the_files_one_line_message()
    {
        var state = RegistryLogic.Initial(File, Now);
        var d = RegistryLogic.Decide(File, state, new RegistryCommands.SetPriority(new VsId(1), ["member-9"], "ops"), Now);

        Assert.Null(d.State);
        Assert.Contains("set-priority", d.Rejection);
        Assert.Contains("unknown member 'member-9'", d.Rejection);
        Assert.DoesNotContain('\n', d.Rejection!);
    }

    [Fact]
    public void A_weight_out_of_range_and_an_unknown_vs_are_rejected()
    {
        var state = RegistryLogic.Initial(File, Now);
        var weight = RegistryLogic.Decide(File, state, new RegistryCommands.SetWeight(new VsId(2), 0, "ops"), Now);
        var vs = RegistryLogic.Decide(File, state, new RegistryCommands.SetWeight(new VsId(42), 5, "ops"), Now);

        Assert.Contains("weight", weight.Rejection);
        Assert.Contains("42", vs.Rejection);
        Assert.Contains("vs-id", vs.Rejection);
    }

    [Fact]
    public void A_bad_import_line_is_rejected_naming_the_line_and_field()
    {
        var state = RegistryLogic.Initial(File, Now);
        var d = RegistryLogic.Decide(File, state, new RegistryCommands.Import("1 10 member-1\n2 ten member-2\n", "ops"), Now);

        Assert.Null(d.State);
        Assert.Contains("import:2", d.Rejection);
        Assert.Contains("weight", d.Rejection);
    }

    [Fact]
    public void Distribution_failback_and_weight_changes_round_trip_through_the_state_text()
    {
        var s0 = RegistryLogic.Initial(File, Now);
        var s1 = RegistryLogic.Decide(File, s0, new RegistryCommands.SetDistribution(DistributionMode.AllOn, "member-2", "ops"), Now).State!;
        var s2 = RegistryLogic.Decide(File, s1, new RegistryCommands.SetFailback(FailbackMode.ActiveUp, "ops"), Now).State!;
        var s3 = RegistryLogic.Decide(File, s2, new RegistryCommands.SetWeight(new VsId(3), 40, "ops"), Now).State!;

        var applied = RegistryLogic.Apply(File, s3);
        Assert.Equal(new VslsSettings(DistributionMode.AllOn, new MemberName("member-2"), FailbackMode.ActiveUp), applied.Vsls);
        Assert.Equal(40, applied.Find(new VsId(3))!.Weight);
        Assert.Equal(3, s3.Version);
    }

    [Fact]
    public void Drain_accepts_configured_members_only_and_undrain_removes_them()
    {
        var s0 = RegistryLogic.Initial(File, Now);
        var drained = RegistryLogic.Decide(File, s0, new RegistryCommands.Drain("member-2", "ops"), Now).State!;
        var unknown = RegistryLogic.Decide(File, drained, new RegistryCommands.Drain("member-7", "ops"), Now);
        var undrained = RegistryLogic.Decide(File, drained, new RegistryCommands.Undrain("member-2", "ops"), Now).State!;

        Assert.Equal(["member-2"], drained.DrainedMembers.ToArray());
        Assert.Contains("unknown member 'member-7'", unknown.Rejection);
        Assert.Empty(undrained.DrainedMembers);
    }

    [Fact]
    public void The_holder_ignores_older_versions_and_applies_drains()
    {
        var holder = new VslsConfigurationHolder();
        holder.Initialize(File);
        var s1 = RegistryLogic.Decide(File, RegistryLogic.Initial(File, Now), new RegistryCommands.SetPriority(new VsId(3), ["member-1"], "ops"), Now).State!;

        Assert.True(holder.TryUpdate(s1.Version, s1.VslsConfigText, ["member-2"]));
        Assert.False(holder.TryUpdate(0, RegistryLogic.Initial(File, Now).VslsConfigText, []));
        Assert.Equal("member-1", holder.Current.Topology.Find(new VsId(3))!.Priority[0].Value);
        Assert.Contains(new MemberName("member-2"), holder.Current.Drained);
        Assert.True(holder.RegistryLoaded.IsCompleted);
    }
}
