using System.Collections.Immutable;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Policy;

namespace VslsActors.Cluster.Protocol;

/// <summary>
/// One tracked connection as checkpoints, deltas and queries carry it: its key (which remembers
/// the originator), its protocol state and counters, the sync mode of the rule that accepted it,
/// and that rule's name.
/// </summary>
public sealed record ConnectionRecord(FlowKey Key, ConnectionState State, SyncMode Sync, string RuleName);

/// <summary>What happened to a connection.</summary>
public enum DeltaKind : byte
{
    /// <summary>The connection is tracked from now on (for a delayed-sync rule: it has outlived the sync delay).</summary>
    Opened = 1,
    /// <summary>Its handshake completed / the responder answered.</summary>
    Established = 2,
    /// <summary>It closed (FIN both ways or RST); it stays tracked until the TCP end timeout.</summary>
    Closed = 3,
    /// <summary>It expired and is no longer tracked.</summary>
    Expired = 4,
}

/// <summary>One lifecycle change of one connection, with the state as it was then.</summary>
public sealed record ConnectionDelta(DeltaKind Kind, ConnectionRecord Connection);

/// <summary>
/// The journal event of a VS: a batch of deltas written in one go (delta synchronization).
/// Manifest <c>deltas.v1</c> in the persistence serializer.
/// </summary>
public sealed record ConnectionDeltas(ImmutableArray<ConnectionDelta> Deltas) : IVslsPersistedData;

/// <summary>
/// The snapshot of a VS: its whole synced connection table at one moment (full
/// synchronization). Recovery = last checkpoint + the <see cref="ConnectionDeltas"/> after it.
/// Manifest <c>checkpoint.v1</c> in the persistence serializer.
/// </summary>
public sealed record VsCheckpoint(ImmutableArray<ConnectionRecord> Connections, long TakenAtTicks) : IVslsPersistedData;

/// <summary>
/// The registry's state: the VSLS configuration (priority lists, weights, distribution and
/// failback modes) in the operator's export format (<c>VslsConfigFile</c>, stable and
/// readable), the members drained for maintenance, and a version that grows with every change.
/// Also the registry's snapshot (manifest <c>registry-state.v1</c>).
/// </summary>
public sealed record RegistryState(long Version, string VslsConfigText, ImmutableArray<string> DrainedMembers) : IVslsPersistedData;

/// <summary>
/// The registry's journal event: the state after a change, who made it (user@member) and
/// what it was, for the audit log. Manifest <c>registry-changed.v1</c>.
/// </summary>
public sealed record RegistryChanged(RegistryState State, string ChangedBy, string Description, long AtTicks) : IVslsPersistedData;
