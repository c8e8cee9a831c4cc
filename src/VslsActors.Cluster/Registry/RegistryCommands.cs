using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Registry;

/// <summary>A message the VSLS registry singleton accepts (through the <c>VslsRegistryProxy</c>).</summary>
public interface IRegistryCommand : IVslsMessage;

/// <summary>
/// A change of the VSLS configuration. Replied with <see cref="RegistryReplies.ConfigurationChanged"/>
/// once the change is journaled, or <see cref="RegistryReplies.ConfigurationRejected"/>.
/// </summary>
public interface IRegistryChange : IRegistryCommand
{
    /// <summary>Who asks (<c>user@member</c>), recorded in the journal for the audit log.</summary>
    string ChangedBy { get; }
}

/// <summary>The registry's commands. Validation goes through <see cref="VslsConfigFile"/>, so errors read as the file's.</summary>
public static class RegistryCommands
{
    /// <summary>Asks for the configuration; replied with <see cref="RegistryReplies.CurrentConfiguration"/>.</summary>
    public sealed record GetConfiguration : IRegistryCommand
    {
        /// <summary>The only instance.</summary>
        public static GetConfiguration Instance { get; } = new();
    }

    /// <summary>
    /// Asks for the last <paramref name="Last"/> journaled changes (1-1000), oldest first; replied with
    /// <see cref="RegistryReplies.History"/>. Read from the registry's journal, so it covers changes
    /// made before the last restart and before the last snapshot too.
    /// </summary>
    public sealed record GetHistory(int Last) : IRegistryCommand
    {
        /// <summary>The most changes one query returns.</summary>
        public const int MaxLast = 1000;
    }

    /// <summary>Sets one VS's priority list (Active first). Switches the distribution to <c>manual</c>, keeping the running lists of the other VSs.</summary>
    public sealed record SetPriority(VsId VsId, string[] Members, string ChangedBy) : IRegistryChange;

    /// <summary>Sets one VS's weight; the distribution mode stays (under <c>equal</c> the lists are regenerated).</summary>
    public sealed record SetWeight(VsId VsId, int Weight, string ChangedBy) : IRegistryChange;

    /// <summary>
    /// Sets one VS's limits (docs/limits.md); the VS applies them where it runs, without a restart.
    /// Each value as the operator wrote it — a whole number, or <c>off</c> for the rates — and null
    /// for "unchanged". Validated as a <c>limits</c> line of the VSLS configuration file, so a bad value
    /// is refused with the VS and the field named, and nothing changes.
    /// </summary>
    public sealed record SetLimits(VsId VsId, string? MaxConnections, string? PacketsPerSecond, string? NewConnectionsPerSecond, string ChangedBy) : IRegistryChange;

    /// <summary>Sets the distribution mode; <paramref name="AllOnMember"/> only with <see cref="DistributionMode.AllOn"/>. Switching to manual keeps the lists in effect.</summary>
    public sealed record SetDistribution(DistributionMode Mode, string? AllOnMember, string ChangedBy) : IRegistryChange;

    /// <summary>
    /// <c>dist equal --by load</c>: writes the lists <see cref="Distribution.EqualByLoad"/> generates from
    /// <paramref name="Loads"/> (one per configured VS, measured by the asking member) and switches the
    /// distribution to <c>manual</c> — a measurement is a snapshot, so the lists must not be regenerated
    /// whenever a weight changes the way <c>equal</c> regenerates them. The audit line records the loads.
    /// </summary>
    public sealed record EqualByLoad(VsLoad[] Loads, string ChangedBy) : IRegistryChange;

    /// <summary>Sets the failback mode.</summary>
    public sealed record SetFailback(FailbackMode Mode, string ChangedBy) : IRegistryChange;

    /// <summary>Imports a VSLS configuration file (all or nothing), as <c>vsls ctl dist import</c>.</summary>
    public sealed record Import(string Text, string ChangedBy) : IRegistryChange;

    /// <summary>Drains a member: its VSs move to Up members (a pnote, for maintenance).</summary>
    public sealed record Drain(string Member, string ChangedBy) : IRegistryChange;

    /// <summary>Ends the drain of a member.</summary>
    public sealed record Undrain(string Member, string ChangedBy) : IRegistryChange;
}

/// <summary>One VS's measured load (<see cref="MeasuredLoad"/>), as <see cref="RegistryCommands.EqualByLoad"/> carries it.</summary>
/// <param name="Vs">The virtual system.</param>
/// <param name="Load">Its load, percent of the measured cluster load (finite, ≥ 0).</param>
public sealed record VsLoad(VsId Vs, double Load);

/// <summary>Replies of the registry. Never typed as commands.</summary>
public static class RegistryReplies
{
    /// <summary>
    /// The configuration at <paramref name="Version"/>: the VSLS configuration file text (priority
    /// lists in effect, weights, <c>distribution</c> and <c>failback</c> lines) and the drained members.
    /// Also what the registry publishes on topic <c>vsls-configuration</c> after every change.
    /// </summary>
    public sealed record CurrentConfiguration(long Version, string ConfigText, string[] DrainedMembers) : IVslsMessage
    {
        /// <summary>The text parsed against the configured <paramref name="members"/>.</summary>
        public VslsConfigDocument Parse(IReadOnlyCollection<MemberName> members) =>
            VslsConfigFile.Parse(ConfigText, "registry configuration", members);
    }

    /// <summary>The change is journaled; the configuration is now at <paramref name="Version"/>.</summary>
    public sealed record ConfigurationChanged(long Version) : IVslsMessage;

    /// <summary>The last journaled changes, oldest first (empty when the configuration never changed).</summary>
    public sealed record History(RegistryChangeEntry[] Entries) : IVslsMessage;

    /// <summary>The change was refused; nothing changed. <paramref name="Reason"/> is one line, as the file errors.</summary>
    public sealed record ConfigurationRejected(string Reason) : IVslsMessage;
}

/// <summary>
/// One journaled change of the VSLS configuration, for the audit log: who (<c>token name@member</c>),
/// what, when, and the configuration text before and after.
/// </summary>
/// <param name="Version">The configuration version the change produced.</param>
/// <param name="ChangedBy">Who asked: the API token's name and the member the request reached.</param>
/// <param name="Description">What changed, one line.</param>
/// <param name="AtTicks">When it was journaled (UTC ticks).</param>
/// <param name="ConfigBefore">The configuration text before (the previous version's).</param>
/// <param name="ConfigAfter">The configuration text after.</param>
/// <param name="DrainedBefore">Drained members before.</param>
/// <param name="DrainedAfter">Drained members after.</param>
public sealed record RegistryChangeEntry(
    long Version,
    string ChangedBy,
    string Description,
    long AtTicks,
    string ConfigBefore,
    string ConfigAfter,
    string[] DrainedBefore,
    string[] DrainedAfter);
