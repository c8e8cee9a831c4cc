using System.Collections.Immutable;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Domain.Topology;

/// <summary>How priority lists are made.</summary>
public enum DistributionMode
{
    /// <summary>Priority lists exactly as written in the topology.</summary>
    Manual,
    /// <summary>Priority lists generated so that every member carries about the same weighted load.</summary>
    Equal,
    /// <summary>Every VS Active on one member (<see cref="VslsSettings.AllOnMember"/>).</summary>
    AllOn,
}

/// <summary>What a VS does when a member higher in its priority list comes back.</summary>
public enum FailbackMode
{
    /// <summary>It returns to the highest-priority available member.</summary>
    PrimaryUp,
    /// <summary>It stays where it is Active; the returning member becomes Standby or Backup.</summary>
    ActiveUp,
}

/// <summary>Cluster-wide VSLS settings.</summary>
public sealed record VslsSettings(
    DistributionMode Distribution = DistributionMode.Manual,
    MemberName? AllOnMember = null,
    FailbackMode Failback = FailbackMode.PrimaryUp)
{
    /// <summary>Manual distribution, primary-up failback.</summary>
    public static VslsSettings Default { get; } = new();
}

/// <summary>
/// One virtual system's configuration: identity, weight, priority list, policy, timeouts,
/// limits, and how traffic is classified to it.
/// </summary>
/// <remarks>
/// Limits (enforced by the VS on its Active member, see docs/limits.md): <see cref="MaxConnections"/>
/// (connection-table size), <see cref="PacketsPerSecond"/> and <see cref="NewConnectionsPerSecond"/>
/// (token buckets with a burst of one second's worth; null = unlimited).
/// </remarks>
public sealed record VirtualSystemConfig(
    VsId Id,
    string Name,
    int Weight,
    ImmutableArray<MemberName> Priority,
    PolicyDefinition Policy,
    ConnectionTimeouts Timeouts,
    int MaxConnections,
    TimeSpan SyncDelay,
    ImmutableArray<int> Vlans,
    ImmutableArray<IpPrefix> Subnets,
    int? PacketsPerSecond = null,
    int? NewConnectionsPerSecond = null)
{
    /// <summary>Default weight, as in VSX.</summary>
    public const int DefaultWeight = 10;

    /// <summary>Default connection-table limit per VS.</summary>
    public const int DefaultMaxConnections = 100_000;

    /// <summary>Default sync delay for <see cref="SyncMode.Delayed"/> rules (Check Point's default is 3 s).</summary>
    public static TimeSpan DefaultSyncDelay { get; } = TimeSpan.FromSeconds(3);
}

/// <summary>
/// The whole configuration the cluster runs: its members (in configured order), its virtual
/// systems (by id), and the VSLS settings.
/// </summary>
public sealed record Topology(
    ImmutableArray<MemberName> Members,
    ImmutableArray<VirtualSystemConfig> VirtualSystems,
    VslsSettings Vsls)
{
    /// <summary>The VS with <paramref name="id"/>, or null.</summary>
    public VirtualSystemConfig? Find(VsId id)
    {
        foreach (var vs in VirtualSystems)
        {
            if (vs.Id == id)
                return vs;
        }
        return null;
    }
}
