using System.Buffers;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Cluster.Serialization;

/// <summary>
/// The serializer of everything VSLS persists (<see cref="IVslsPersistedData"/>): journal events
/// and snapshots of virtual systems and of the registry. A compact hand-written binary format
/// behind stable string manifests, so that a journal outlives renames and moves of the CLR
/// classes: the manifest, not a type name, says how to read a payload.
/// </summary>
/// <remarks>
/// <para>Identifier <see cref="SerializerId"/> (4711) is stored beside every journal row and
/// snapshot; it must never change. Manifests (<see cref="ManifestTypes"/>):
/// <c>deltas.v1</c> <see cref="ConnectionDeltas"/>, <c>checkpoint.v1</c> <see cref="VsCheckpoint"/>,
/// <c>registry-state.v1</c> <see cref="RegistryState"/>, <c>registry-changed.v1</c>
/// <see cref="RegistryChanged"/>. A new shape gets a new manifest (<c>deltas.v2</c>) or, for a
/// compatible addition, a higher format version byte under the same manifest; old manifests keep
/// being read.</para>
/// <para>Every payload starts with a format version byte (1). A connection record is the flow's
/// originator and responder (address as 16 big-endian bytes, port) and protocol, the connection
/// state from its public getters (phase, protocol, FIN flags, counters as varints, first-seen,
/// last-seen as a delta), the sync mode and the accepting rule's name. Rule names repeat across a
/// table, so a payload carries each distinct name once in a string table and records refer to it
/// by index: smaller payloads, and a 1,000,000-connection checkpoint decodes to a handful of
/// string instances instead of a million.</para>
/// <para>A <c>null</c> string (the records declare none) is written as an empty one.</para>
/// <para>Not sealed only so that a test can map a manifest to a renamed type (see the protected
/// <c>Create…</c> methods); production code uses this class as it is.</para>
/// </remarks>
public class VslsPersistenceSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id stored with every persisted payload. Never change it.</summary>
    public const int SerializerId = 4711;

    /// <summary>Manifest of <see cref="ConnectionDeltas"/>.</summary>
    public const string DeltasManifest = "deltas.v1";

    /// <summary>Manifest of <see cref="VsCheckpoint"/>.</summary>
    public const string CheckpointManifest = "checkpoint.v1";

    /// <summary>Manifest of <see cref="RegistryState"/>.</summary>
    public const string RegistryStateManifest = "registry-state.v1";

    /// <summary>Manifest of <see cref="RegistryChanged"/>.</summary>
    public const string RegistryChangedManifest = "registry-changed.v1";

    /// <summary>The newest format version this build writes and reads (the first byte of every payload).</summary>
    public const byte FormatVersion = 1;

    /// <summary>The explicit manifest table: which type each manifest is written for.</summary>
    public static FrozenDictionary<string, Type> ManifestTypes { get; } = new Dictionary<string, Type>
    {
        [DeltasManifest] = typeof(ConnectionDeltas),
        [CheckpointManifest] = typeof(VsCheckpoint),
        [RegistryStateManifest] = typeof(RegistryState),
        [RegistryChangedManifest] = typeof(RegistryChanged),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    // Fixed part of a record: originator 16+2, responder 16+2, protocol 1, phase 1, state protocol 1,
    // FIN flags 1, first seen 8, sync mode 1. Variable: 4 counters, last-seen delta, rule index.
    private const int RecordFixedBytes = 16 + 2 + 16 + 2 + 1 + 1 + 1 + 1 + 8 + 1;
    private const int RecordMinBytes = RecordFixedBytes + 6;

    /// <summary>Creates the serializer for <paramref name="system"/>.</summary>
    public VslsPersistenceSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    /// <inheritdoc />
    public override int Identifier => SerializerId;

    /// <inheritdoc />
    public override string Manifest(object o) => o switch
    {
        ConnectionDeltas => DeltasManifest,
        VsCheckpoint => CheckpointManifest,
        RegistryState => RegistryStateManifest,
        RegistryChanged => RegistryChangedManifest,
        _ => throw Unsupported(o),
    };

    /// <inheritdoc />
    public override byte[] ToBinary(object obj) => obj switch
    {
        ConnectionDeltas deltas => WriteDeltas(deltas.Deltas),
        VsCheckpoint checkpoint => WriteCheckpoint(checkpoint.Connections, checkpoint.TakenAtTicks),
        RegistryState state => WriteRegistryState(state),
        RegistryChanged changed => WriteRegistryChanged(changed),
        _ => throw Unsupported(obj),
    };

    /// <inheritdoc />
    public override object FromBinary(byte[] bytes, string manifest)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var reader = new WireReader(bytes, manifest ?? "");
        object result;
        switch (manifest)
        {
            case DeltasManifest:
                reader.Version(FormatVersion);
                result = CreateConnectionDeltas(ReadDeltas(ref reader));
                break;
            case CheckpointManifest:
            {
                reader.Version(FormatVersion);
                var takenAt = reader.Int64();
                result = CreateCheckpoint(ReadRecords(ref reader), takenAt);
                break;
            }
            case RegistryStateManifest:
                reader.Version(FormatVersion);
                result = ReadRegistryState(ref reader);
                break;
            case RegistryChangedManifest:
            {
                reader.Version(FormatVersion);
                var state = ReadRegistryState(ref reader);
                var changedBy = reader.String();
                var description = reader.String();
                var at = reader.Int64();
                result = CreateRegistryChanged(state, changedBy, description, at);
                break;
            }
            default:
                throw new SerializationException(
                    $"VSLS persistence serializer ({SerializerId}) does not know manifest '{manifest}'; known manifests: " +
                    $"{string.Join(", ", ManifestTypes.Keys.Order(StringComparer.Ordinal))}. Was this journal written by a newer VSLS?");
        }
        reader.End();
        return result;
    }

    /// <summary>Builds the event read under <c>deltas.v1</c>; a test maps it to a renamed type.</summary>
    protected virtual object CreateConnectionDeltas(ImmutableArray<ConnectionDelta> deltas) => new ConnectionDeltas(deltas);

    /// <summary>Builds the snapshot read under <c>checkpoint.v1</c>; a test maps it to a renamed type.</summary>
    protected virtual object CreateCheckpoint(ImmutableArray<ConnectionRecord> connections, long takenAtTicks) =>
        new VsCheckpoint(connections, takenAtTicks);

    /// <summary>Builds the event read under <c>registry-changed.v1</c>.</summary>
    protected virtual object CreateRegistryChanged(RegistryState state, string changedBy, string description, long atTicks) =>
        new RegistryChanged(state, changedBy, description, atTicks);

    private SerializationException Unsupported(object? o) => new(
        $"VSLS persistence serializer ({SerializerId}) cannot write {o?.GetType().FullName ?? "null"}: " +
        $"it writes only {string.Join(", ", ManifestTypes.Values.Select(t => t.Name).Order(StringComparer.Ordinal))}. " +
        "A new persisted type needs a manifest and a format here.");

    // ---- connection records ------------------------------------------------------------------

    /// <summary>
    /// Rule names of a batch in order of first use, and each record's index into them. The
    /// reference check first: records of one table share the rule's string instance, so the
    /// dictionary is consulted only when the name changes.
    /// </summary>
    private ref struct StringTable
    {
        private readonly List<string> _strings;
        private Dictionary<string, int>? _indexes;
        private string? _last;
        private int _lastIndex;

        private StringTable(List<string> strings)
        {
            _strings = strings;
            _lastIndex = -1;
        }

        public static StringTable Create() => new(new List<string>(4));

        public int IndexOf(string? value)
        {
            value ??= "";
            if (ReferenceEquals(value, _last))
                return _lastIndex;
            _indexes ??= new Dictionary<string, int>(StringComparer.Ordinal);
            if (!_indexes.TryGetValue(value, out var index))
            {
                index = _strings.Count;
                _strings.Add(value);
                _indexes.Add(value, index);
            }
            _last = value;
            _lastIndex = index;
            return index;
        }

        public readonly int Size()
        {
            var size = WireWriter.SizeOfVarUInt((ulong)_strings.Count);
            foreach (var s in _strings)
                size += WireWriter.SizeOfString(s);
            return size;
        }

        public readonly void Write(ref WireWriter writer)
        {
            writer.VarUInt((ulong)_strings.Count);
            foreach (var s in _strings)
                writer.String(s);
        }
    }

    private static int SizeOfRecord(ConnectionRecord record, int ruleIndex)
    {
        var s = record.State;
        return RecordFixedBytes
            + WireWriter.SizeOfVarUInt((ulong)s.OrigPackets) + WireWriter.SizeOfVarUInt((ulong)s.OrigBytes)
            + WireWriter.SizeOfVarUInt((ulong)s.RespPackets) + WireWriter.SizeOfVarUInt((ulong)s.RespBytes)
            + WireWriter.SizeOfVarInt(s.LastSeen - s.FirstSeen)
            + WireWriter.SizeOfVarUInt((ulong)ruleIndex);
    }

    private static void WriteRecord(ref WireWriter w, ConnectionRecord record, int ruleIndex)
    {
        var key = record.Key;
        var originator = key.Originator;
        var responder = key.Responder;
        w.Address(originator.Address);
        w.UInt16(originator.Port);
        w.Address(responder.Address);
        w.UInt16(responder.Port);
        w.Byte((byte)key.Protocol);

        var s = record.State;
        w.Byte((byte)s.Phase);
        w.Byte((byte)s.Protocol);
        w.Byte((byte)((s.OriginatorFinSeen ? 1 : 0) | (s.ResponderFinSeen ? 2 : 0)));
        w.VarUInt((ulong)s.OrigPackets);
        w.VarUInt((ulong)s.OrigBytes);
        w.VarUInt((ulong)s.RespPackets);
        w.VarUInt((ulong)s.RespBytes);
        w.Int64(s.FirstSeen);
        // Last-seen as an offset from first-seen: a few bytes instead of eight.
        w.VarInt(s.LastSeen - s.FirstSeen);

        w.Byte((byte)record.Sync);
        w.VarUInt((ulong)ruleIndex);
    }

    private static ConnectionRecord ReadRecord(ref WireReader r, string[] strings)
    {
        var originator = r.Address();
        var originatorPort = r.UInt16();
        var responder = r.Address();
        var responderPort = r.UInt16();
        var protocol = (IpProtocol)r.Byte();
        // FlowKey.ForFirstPacket puts the endpoints in canonical order and remembers the originator.
        var key = FlowKey.ForFirstPacket(originator, originatorPort, responder, responderPort, protocol);

        var phase = (ConnectionPhase)r.Byte();
        var stateProtocol = (IpProtocol)r.Byte();
        var fins = r.Byte();
        if (fins > 3)
            throw r.Malformed($"FIN flags byte {fins} has unknown bits");
        var origPackets = (long)r.VarUInt();
        var origBytes = (long)r.VarUInt();
        var respPackets = (long)r.VarUInt();
        var respBytes = (long)r.VarUInt();
        var firstSeen = r.Int64();
        var lastSeen = firstSeen + r.VarInt();
        var state = ConnectionState.Restore(phase, stateProtocol, (fins & 1) != 0, (fins & 2) != 0,
            origPackets, origBytes, respPackets, respBytes, firstSeen, lastSeen);

        var sync = r.Byte();
        if (sync > (byte)SyncMode.None)
            throw r.Malformed($"sync mode {sync} is unknown");
        var ruleIndex = r.VarUInt();
        if (ruleIndex >= (ulong)strings.Length)
            throw r.Malformed($"rule name index {ruleIndex} is outside the string table of {strings.Length}");
        return new ConnectionRecord(key, state, (SyncMode)sync, strings[ruleIndex]);
    }

    private static string[] ReadStrings(ref WireReader r)
    {
        var count = r.Count(1);
        var strings = count == 0 ? [] : new string[count];
        for (var i = 0; i < strings.Length; i++)
            strings[i] = r.String();
        return strings;
    }

    // ---- checkpoint.v1: version, taken-at, string table, count, records -----------------------

    private static byte[] WriteCheckpoint(ImmutableArray<ConnectionRecord> connections, long takenAtTicks)
    {
        var records = connections.IsDefault ? [] : connections.AsSpan();
        var table = StringTable.Create();
        // Pass 1: exact size and rule indexes (pooled: a million ints, not a million allocations).
        var indexes = ArrayPool<int>.Shared.Rent(Math.Max(1, records.Length));
        try
        {
            long size = 1 + 8 + WireWriter.SizeOfVarUInt((ulong)records.Length);
            for (var i = 0; i < records.Length; i++)
            {
                var index = table.IndexOf(records[i].RuleName);
                indexes[i] = index;
                size += SizeOfRecord(records[i], index);
            }
            size += table.Size();

            // Pass 2: write into an array of exactly that size (no growth, no final copy).
            var bytes = new byte[checked((int)size)];
            var w = new WireWriter(bytes);
            w.Byte(FormatVersion);
            w.Int64(takenAtTicks);
            table.Write(ref w);
            w.VarUInt((ulong)records.Length);
            for (var i = 0; i < records.Length; i++)
                WriteRecord(ref w, records[i], indexes[i]);
            return bytes;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(indexes);
        }
    }

    private static ImmutableArray<ConnectionRecord> ReadRecords(ref WireReader r)
    {
        var strings = ReadStrings(ref r);
        var count = r.Count(RecordMinBytes);
        var builder = ImmutableArray.CreateBuilder<ConnectionRecord>(count);
        for (var i = 0; i < count; i++)
            builder.Add(ReadRecord(ref r, strings));
        return builder.MoveToImmutable();
    }

    // ---- deltas.v1: version, string table, count, (kind, record)* -----------------------------

    private static byte[] WriteDeltas(ImmutableArray<ConnectionDelta> deltas)
    {
        var items = deltas.IsDefault ? [] : deltas.AsSpan();
        var table = StringTable.Create();
        var indexes = ArrayPool<int>.Shared.Rent(Math.Max(1, items.Length));
        try
        {
            long size = 1 + WireWriter.SizeOfVarUInt((ulong)items.Length);
            for (var i = 0; i < items.Length; i++)
            {
                var index = table.IndexOf(items[i].Connection.RuleName);
                indexes[i] = index;
                size += 1 + SizeOfRecord(items[i].Connection, index);
            }
            size += table.Size();

            var bytes = new byte[checked((int)size)];
            var w = new WireWriter(bytes);
            w.Byte(FormatVersion);
            table.Write(ref w);
            w.VarUInt((ulong)items.Length);
            for (var i = 0; i < items.Length; i++)
            {
                w.Byte((byte)items[i].Kind);
                WriteRecord(ref w, items[i].Connection, indexes[i]);
            }
            return bytes;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(indexes);
        }
    }

    private static ImmutableArray<ConnectionDelta> ReadDeltas(ref WireReader r)
    {
        var strings = ReadStrings(ref r);
        var count = r.Count(RecordMinBytes + 1);
        var builder = ImmutableArray.CreateBuilder<ConnectionDelta>(count);
        for (var i = 0; i < count; i++)
        {
            var kind = r.Byte();
            if (kind is < (byte)DeltaKind.Opened or > (byte)DeltaKind.Expired)
                throw r.Malformed($"delta kind {kind} is unknown");
            builder.Add(new ConnectionDelta((DeltaKind)kind, ReadRecord(ref r, strings)));
        }
        return builder.MoveToImmutable();
    }

    // ---- registry-state.v1 / registry-changed.v1 ---------------------------------------------

    private static int SizeOfRegistryStateBody(RegistryState state)
    {
        var drained = state.DrainedMembers.IsDefault ? [] : state.DrainedMembers.AsSpan();
        var size = 8 + WireWriter.SizeOfString(state.VslsConfigText) + WireWriter.SizeOfVarUInt((ulong)drained.Length);
        foreach (var member in drained)
            size += WireWriter.SizeOfString(member);
        return size;
    }

    private static void WriteRegistryStateBody(ref WireWriter w, RegistryState state)
    {
        var drained = state.DrainedMembers.IsDefault ? [] : state.DrainedMembers.AsSpan();
        w.Int64(state.Version);
        w.String(state.VslsConfigText);
        w.VarUInt((ulong)drained.Length);
        foreach (var member in drained)
            w.String(member);
    }

    private static RegistryState ReadRegistryState(ref WireReader r)
    {
        var version = r.Int64();
        var text = r.String();
        var count = r.Count(1);
        var drained = ImmutableArray.CreateBuilder<string>(count);
        for (var i = 0; i < count; i++)
            drained.Add(r.String());
        return new RegistryState(version, text, drained.MoveToImmutable());
    }

    private static byte[] WriteRegistryState(RegistryState state)
    {
        var bytes = new byte[1 + SizeOfRegistryStateBody(state)];
        var w = new WireWriter(bytes);
        w.Byte(FormatVersion);
        WriteRegistryStateBody(ref w, state);
        return bytes;
    }

    private static byte[] WriteRegistryChanged(RegistryChanged changed)
    {
        var bytes = new byte[1 + SizeOfRegistryStateBody(changed.State)
            + WireWriter.SizeOfString(changed.ChangedBy) + WireWriter.SizeOfString(changed.Description) + 8];
        var w = new WireWriter(bytes);
        w.Byte(FormatVersion);
        WriteRegistryStateBody(ref w, changed.State);
        w.String(changed.ChangedBy);
        w.String(changed.Description);
        w.Int64(changed.AtTicks);
        return bytes;
    }
}
