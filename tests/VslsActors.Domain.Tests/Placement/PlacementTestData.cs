using System.Collections.Immutable;
using CsCheck;

namespace VslsActors.Domain.Tests.Placement;

using VslsActors.Domain.Connections;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

/// <summary>Builds topologies and member states for placement tests.</summary>
internal static class PlacementTestData
{
    public static MemberName M(int i) => new($"member-{i}");

    public static ImmutableArray<MemberName> Members(int n)
    {
        var b = ImmutableArray.CreateBuilder<MemberName>(n);
        for (var i = 1; i <= n; i++)
            b.Add(M(i));
        return b.MoveToImmutable();
    }

    public static VirtualSystemConfig Vs(int id, int weight, params MemberName[] priority) => new(
        new VsId(id),
        $"vs-{id}",
        weight,
        [.. priority],
        PolicyDefinition.Empty,
        ConnectionTimeouts.Default,
        VirtualSystemConfig.DefaultMaxConnections,
        VirtualSystemConfig.DefaultSyncDelay,
        [],
        []);

    public static Topology Topology(
        IEnumerable<MemberName> members,
        IEnumerable<VirtualSystemConfig> vss,
        DistributionMode mode = DistributionMode.Manual,
        MemberName? allOn = null,
        FailbackMode failback = FailbackMode.PrimaryUp) =>
        new([.. members], [.. vss], new VslsSettings(mode, allOn, failback));

    public static Dictionary<MemberName, MemberState> AllUp(IEnumerable<MemberName> members) =>
        members.ToDictionary(m => m, _ => MemberState.Up);

    /// <summary>States of member-1, member-2, … in order.</summary>
    public static Dictionary<MemberName, MemberState> States(params MemberState[] states)
    {
        var d = new Dictionary<MemberName, MemberState>();
        for (var i = 0; i < states.Length; i++)
            d[M(i + 1)] = states[i];
        return d;
    }

    /// <summary>
    /// The effective priority list written independently of the implementation: written list
    /// without repeats or unconfigured names, then the configured members it leaves out; generated lists as produced.
    /// </summary>
    public static MemberName[] ExpectedEffectiveList(Topology topology, VsId vs)
    {
        var config = topology.Find(vs)!;
        IEnumerable<MemberName> written = topology.Vsls.Distribution switch
        {
            DistributionMode.Manual => config.Priority,
            DistributionMode.Equal => Distribution.Equal(topology.Members, topology.VirtualSystems.Select(v => (v.Id, v.Weight)).ToList())
                .Single(p => p.Vs == vs).Members,
            _ => Distribution.AllOn(topology.Members, topology.VirtualSystems.Select(v => (v.Id, v.Weight)).ToList(), topology.Vsls.AllOnMember!.Value)
                .Single(p => p.Vs == vs).Members,
        };
        var distinct = written.Distinct().Where(m => topology.Members.Contains(m)).ToList();
        return [.. distinct, .. topology.Members.Where(m => !distinct.Contains(m))];
    }

    public static MemberState StateOf(IReadOnlyDictionary<MemberName, MemberState> states, MemberName m) =>
        states.TryGetValue(m, out var s) ? s : MemberState.Down;
}

/// <summary>A random topology with random member states, printable when a property fails.</summary>
internal sealed record Scenario(Topology Topology, Dictionary<MemberName, MemberState> States, int Seed)
{
    /// <summary>
    /// 1–13 members, 0–maxVss VSs with distinct ids in random order, weights 1–50, random modes;
    /// manual lists are random orderings of 0..n members, sometimes with a repeated or an
    /// unconfigured name; states Up ~60 %, Down ~25 %, Draining ~15 %, some members unmentioned.
    /// </summary>
    public static Gen<Scenario> Gen(int maxVss = 60, DistributionMode? mode = null, FailbackMode? failback = null) =>
        CsCheck.Gen.Select(CsCheck.Gen.Int[1, 13], CsCheck.Gen.Int[0, maxVss], CsCheck.Gen.Int[0, int.MaxValue])
            .Select((n, v, seed) => Build(n, v, seed, mode, failback));

    public static Scenario Build(int n, int vCount, int seed, DistributionMode? mode, FailbackMode? failback)
    {
        var rnd = new Random(seed);
        var members = PlacementTestData.Members(n);
        var ids = Enumerable.Range(1, vCount * 3).OrderBy(_ => rnd.Next()).Take(vCount).ToArray();
        var vss = new List<VirtualSystemConfig>();
        foreach (var id in ids)
        {
            var order = members.OrderBy(_ => rnd.Next()).Take(rnd.Next(0, n + 1)).ToList();
            if (order.Count > 0 && rnd.Next(10) == 0)
                order.Add(order[0]);
            if (rnd.Next(20) == 0)
                order.Insert(0, new MemberName("member-99"));
            var weight = rnd.Next(4) == 0 ? 10 : rnd.Next(1, 51);
            vss.Add(PlacementTestData.Vs(id, weight, [.. order]));
        }
        var m = mode ?? (DistributionMode)rnd.Next(3);
        var f = failback ?? (FailbackMode)rnd.Next(2);
        var topology = PlacementTestData.Topology(members, vss, m, m == DistributionMode.AllOn ? members[rnd.Next(n)] : null, f);
        return new Scenario(topology, RandomStates(members, rnd), seed);
    }

    public static Dictionary<MemberName, MemberState> RandomStates(IEnumerable<MemberName> members, Random rnd)
    {
        var states = new Dictionary<MemberName, MemberState>();
        foreach (var m in members)
        {
            var r = rnd.Next(100);
            if (r < 60)
                states[m] = MemberState.Up;
            else if (r < 75)
                states[m] = MemberState.Draining;
            else if (r < 90)
                states[m] = MemberState.Down;
            // else: not mentioned at all, which must mean Down
        }
        return states;
    }

    public override string ToString() =>
        $"seed {Seed}, {Topology.Vsls}, members {string.Join(" ", Topology.Members.Select(m => $"{m}={(States.TryGetValue(m, out var s) ? s.ToString() : "absent")}"))}, "
        + $"VSs [{string.Join("; ", Topology.VirtualSystems.Select(v => $"{v.Id} w{v.Weight} {string.Join(",", v.Priority)}"))}]";
}
