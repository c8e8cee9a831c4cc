using System.Collections.Immutable;
using BenchmarkDotNet.Attributes;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

namespace VslsActors.Benchmarks;

/// <summary>
/// Placement of 250 VSs on 13 members (the VSLS maximum), with two members Down and one
/// Draining so the failover path is exercised. Target: ≤ 1 ms per placement. Baseline: a
/// naive loop that takes the first Up member of each written list (no Standby, no Backups).
/// </summary>
[MemoryDiagnoser]
public class PlacementBenchmarks
{
    private const int MemberCount = 13;
    private const int VsCount = 250;

    private Topology _manual = null!;
    private Topology _equal = null!;
    private Dictionary<MemberName, MemberState> _states = null!;
    private Placement _current = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rnd = new Random(42);
        var members = Enumerable.Range(1, MemberCount).Select(i => new MemberName($"member-{i}")).ToImmutableArray();
        var vss = Enumerable.Range(1, VsCount)
            .Select(id => new VirtualSystemConfig(
                new VsId(id),
                $"vs-{id}",
                rnd.Next(1, 51),
                [.. members.OrderBy(_ => rnd.Next())],
                PolicyDefinition.Empty,
                ConnectionTimeouts.Default,
                VirtualSystemConfig.DefaultMaxConnections,
                VirtualSystemConfig.DefaultSyncDelay,
                [],
                []))
            .ToImmutableArray();
        _manual = new Topology(members, vss, new VslsSettings(DistributionMode.Manual));
        _equal = new Topology(members, vss, new VslsSettings(DistributionMode.Equal));
        _states = members.ToDictionary(m => m, _ => MemberState.Up);
        _states[members[3]] = MemberState.Down;
        _states[members[7]] = MemberState.Down;
        _states[members[10]] = MemberState.Draining;
        _current = PlacementCalculator.Compute(_manual, members.ToDictionary(m => m, _ => MemberState.Up), null);
    }

    /// <summary>The naive loop: first Up member of each written list, nothing else.</summary>
    [Benchmark(Baseline = true)]
    public int FirstUpMemberOfEachList()
    {
        var placed = 0;
        foreach (var vs in _manual.VirtualSystems)
        {
            foreach (var m in vs.Priority)
            {
                if (_states.TryGetValue(m, out var s) && s == MemberState.Up)
                {
                    placed++;
                    break;
                }
            }
        }
        return placed;
    }

    /// <summary>Manual mode, random full lists, primary-up.</summary>
    [Benchmark]
    public Placement ComputeManual() => PlacementCalculator.Compute(_manual, _states, null);

    /// <summary>Manual mode with active-up: also looks up each VS's current Active.</summary>
    [Benchmark]
    public Placement ComputeManualActiveUp() =>
        PlacementCalculator.Compute(_manual with { Vsls = new VslsSettings(Failback: FailbackMode.ActiveUp) }, _states, _current);

    /// <summary>Equal mode: generates all 250 priority lists, then places.</summary>
    [Benchmark]
    public Placement ComputeEqual() => PlacementCalculator.Compute(_equal, _states, null);
}
