using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Policy;

namespace VslsActors.Domain.VirtualSystems;

/// <summary>
/// A lifecycle change of a synced connection, as journaled. The numeric values are those of the
/// cluster's persisted <c>DeltaKind</c> (a test pins them), so the two convert with a cast.
/// </summary>
public enum SyncedChange : byte
{
    /// <summary>Tracked from now on.</summary>
    Opened = 1,
    /// <summary>Handshake completed / the responder answered.</summary>
    Established = 2,
    /// <summary>Closed (FIN both ways or RST); still tracked until its end timeout.</summary>
    Closed = 3,
    /// <summary>Expired: no longer tracked.</summary>
    Expired = 4,
}

/// <summary>One synced connection: key (with its originator), state, and the accepting rule's sync mode and name.</summary>
public readonly record struct SyncedConnection(FlowKey Key, ConnectionState State, SyncMode Sync, string RuleName);

/// <summary>
/// The synced view of a VS's connection table: what a checkpoint holds and what recovery rebuilds
/// (last checkpoint, then every later change in order). Opened, Established and Closed set the
/// connection's record (so a change is idempotent and a change seen before its Opened — which a
/// checkpoint taken between the two can cause — still lands); Expired removes it.
/// </summary>
public sealed class SyncedTable
{
    private readonly Dictionary<FlowKey, SyncedConnection> _connections;

    /// <summary>An empty table.</summary>
    public SyncedTable() => _connections = new Dictionary<FlowKey, SyncedConnection>();

    private SyncedTable(int capacity) => _connections = new Dictionary<FlowKey, SyncedConnection>(capacity);

    /// <summary>Number of synced connections.</summary>
    public int Count => _connections.Count;

    /// <summary>The connection with <paramref name="key"/> (the originator is ignored by the lookup).</summary>
    public bool TryGet(FlowKey key, out SyncedConnection connection) => _connections.TryGetValue(key, out connection);

    /// <summary>Applies one journaled change.</summary>
    public void Apply(SyncedChange change, in SyncedConnection connection)
    {
        switch (change)
        {
            case SyncedChange.Opened or SyncedChange.Established or SyncedChange.Closed:
                _connections[connection.Key] = connection;
                break;
            case SyncedChange.Expired:
                _connections.Remove(connection.Key);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change, "unknown synced change");
        }
    }

    /// <summary>Every synced connection, for a checkpoint (order unspecified).</summary>
    public SyncedConnection[] ToCheckpoint()
    {
        var result = new SyncedConnection[_connections.Count];
        _connections.Values.CopyTo(result, 0);
        return result;
    }

    /// <summary>A table holding exactly the connections of a checkpoint (a later duplicate key wins).</summary>
    public static SyncedTable FromCheckpoint(IReadOnlyCollection<SyncedConnection> connections)
    {
        var table = new SyncedTable(connections.Count);
        foreach (var c in connections)
            table._connections[c.Key] = c;
        return table;
    }

    /// <summary>The connections, for recovery to rebuild its table from.</summary>
    public IEnumerable<SyncedConnection> Connections => _connections.Values;
}
