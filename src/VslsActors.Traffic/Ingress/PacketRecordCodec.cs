using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Traffic.Ingress;

/// <summary>How an ingress record names its virtual system.</summary>
public enum RecordSelector : byte
{
    /// <summary>No selector: the member classifies by destination subnet.</summary>
    None = 0,
    /// <summary>The selector value is a VS id (≥ 1).</summary>
    VsId = 1,
    /// <summary>The selector value is a VLAN id (1–4094); unmapped VLANs fall back to the destination subnet.</summary>
    Vlan = 2,
}

/// <summary>One decoded ingress record: how it selects its VS, and the packet.</summary>
/// <param name="Selector">How <paramref name="SelectorValue"/> is read.</param>
/// <param name="SelectorValue">VS id or VLAN id; 0 for <see cref="RecordSelector.None"/>.</param>
/// <param name="Packet">Timestamp (UTC ticks) and header.</param>
public readonly record struct IngressRecord(RecordSelector Selector, int SelectorValue, TimedPacket Packet)
{
    /// <summary>A record addressed to <paramref name="vs"/> by id.</summary>
    public static IngressRecord ForVs(VsId vs, TimedPacket packet) => new(RecordSelector.VsId, vs.Value, packet);
}

/// <summary>
/// The ingress record format: fixed 64-byte records, numbers little-endian, addresses in network
/// order. One implementation for the member (decode) and every client (encode). Decoding allocates
/// nothing unless a record is malformed (then it builds the one-line fault).
/// </summary>
/// <remarks>
/// Layout (byte offsets; docs/ingress.md has the same table):
/// <code>
///  0  int64   timestamp, UTC ticks (100 ns since 0001-01-01), ≥ 0
///  8  uint8   selector kind: 0 none (destination subnet), 1 VS id, 2 VLAN
///  9  uint8   IP protocol number (IANA-assigned: 0-142, 253, 254)
/// 10  uint8   address family: 4 or 6
/// 11  uint8   TCP flags (wire bits; ECE/CWR are ignored); 0 for other protocols
/// 12  uint32  selector value: VS id ≥ 1, VLAN 1-4094, 0 for none
/// 16  16 B    source address: IPv6 in network order; IPv4 in bytes 16-19, bytes 20-31 zero
/// 32  16 B    destination address, same form
/// 48  uint16  source port (TCP/UDP), else 0
/// 50  uint16  destination port (TCP/UDP), else 0
/// 52  uint8   ICMP/ICMPv6 type, else 0
/// 53  uint8   reserved, 0
/// 54  uint16  ICMP/ICMPv6 echo identifier, else 0
/// 56  int32   IP length: IPv4 total length, IPv6 payload length + 40; 0-65575
/// 60  uint32  reserved, 0
/// </code>
/// </remarks>
public static class PacketRecordCodec
{
    /// <summary>Bytes per record.</summary>
    public const int RecordSize = 64;

    /// <summary>Largest valid IP length (IPv6 payload length 65535 + the 40-byte header).</summary>
    public const int MaxIpLength = 65535 + 40;

    private const int MaxVlan = 4094;

    /// <summary>Writes <paramref name="record"/> into the first <see cref="RecordSize"/> bytes of <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The destination is too small, or the record is not encodable (the decoder would refuse it).</exception>
    public static void Write(Span<byte> destination, in IngressRecord record)
    {
        if (destination.Length < RecordSize)
            throw new ArgumentException($"a record needs {RecordSize} bytes (got {destination.Length})", nameof(destination));
        var d = destination[..RecordSize];
        var h = record.Packet.Header;
        var ipv4 = h.Source.IsIPv4;
        if (h.Destination.IsIPv4 != ipv4)
            throw new ArgumentException($"source {h.Source} and destination {h.Destination} are of different address families", nameof(record));
        BinaryPrimitives.WriteInt64LittleEndian(d, record.Packet.Timestamp);
        d[8] = (byte)record.Selector;
        d[9] = (byte)h.Protocol;
        d[10] = ipv4 ? (byte)4 : (byte)6;
        d[11] = (byte)h.Flags;
        BinaryPrimitives.WriteUInt32LittleEndian(d[12..], (uint)record.SelectorValue);
        WriteAddress(d.Slice(16, 16), h.Source);
        WriteAddress(d.Slice(32, 16), h.Destination);
        BinaryPrimitives.WriteUInt16LittleEndian(d[48..], h.SourcePort);
        BinaryPrimitives.WriteUInt16LittleEndian(d[50..], h.DestinationPort);
        d[52] = h.IcmpType;
        d[53] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(d[54..], h.IcmpId);
        BinaryPrimitives.WriteInt32LittleEndian(d[56..], h.IpLength);
        BinaryPrimitives.WriteUInt32LittleEndian(d[60..], 0);
    }

    /// <summary>Encodes <paramref name="packets"/> (each addressed by its VS id) into a new array.</summary>
    public static byte[] Encode(ReadOnlySpan<TrafficPacket> packets)
    {
        var bytes = new byte[packets.Length * RecordSize];
        for (var i = 0; i < packets.Length; i++)
            Write(bytes.AsSpan(i * RecordSize), IngressRecord.ForVs(packets[i].Vs, packets[i].Packet));
        return bytes;
    }

    /// <summary>Encodes a generator batch (each record addressed by its VS id) into a new array.</summary>
    public static byte[] Encode(TrafficBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var bytes = new byte[batch.Count * RecordSize];
        var at = 0;
        foreach (var (vs, packets) in batch.PerVs)
        {
            foreach (var p in packets)
            {
                Write(bytes.AsSpan(at), IngressRecord.ForVs(vs, p));
                at += RecordSize;
            }
        }
        return bytes;
    }

    /// <summary>Encodes <paramref name="records"/> into a new array.</summary>
    public static byte[] Encode(ReadOnlySpan<IngressRecord> records)
    {
        var bytes = new byte[records.Length * RecordSize];
        for (var i = 0; i < records.Length; i++)
            Write(bytes.AsSpan(i * RecordSize), records[i]);
        return bytes;
    }

    private static void WriteAddress(Span<byte> destination, NetAddress address)
    {
        if (address.IsIPv4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, address.IPv4Value);
            destination[4..].Clear();
        }
        else
        {
            BinaryPrimitives.WriteUInt128BigEndian(destination, address.Value);
        }
    }

    /// <summary>
    /// Checks that <paramref name="records"/> is a whole number of records; otherwise <paramref name="fault"/>
    /// says by how much it is off.
    /// </summary>
    public static bool TryCount(ReadOnlySpan<byte> records, out int count, out string? fault)
    {
        if (records.Length % RecordSize != 0)
        {
            count = 0;
            fault = string.Create(CultureInfo.InvariantCulture,
                $"records is {records.Length} bytes, not a multiple of the {RecordSize}-byte record size ({records.Length % RecordSize} bytes left over after record {records.Length / RecordSize - 1})");
            return false;
        }
        count = records.Length / RecordSize;
        fault = null;
        return true;
    }

    /// <summary>
    /// Decodes record number <paramref name="index"/> of <paramref name="records"/> (the caller checked
    /// the length with <see cref="TryCount"/>). False for a malformed record, with <paramref name="fault"/>
    /// naming the record, the field and the value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead(ReadOnlySpan<byte> records, int index, out IngressRecord record, out string? fault)
    {
        var d = records.Slice(index * RecordSize, RecordSize);
        var timestamp = BinaryPrimitives.ReadInt64LittleEndian(d);
        var selector = (RecordSelector)d[8];
        var protocol = (IpProtocol)d[9];
        var family = d[10];
        var flags = (TcpFlags)(d[11] & 0x3F);
        var selectorValue = BinaryPrimitives.ReadUInt32LittleEndian(d[12..]);
        var ipLength = BinaryPrimitives.ReadInt32LittleEndian(d[56..]);
        record = default;
        fault = null;
        if (timestamp < 0 || timestamp > DateTime.MaxValue.Ticks)
            return Fail(index, "timestamp", timestamp, "is not a UTC tick count (0 to DateTime.MaxValue.Ticks)", out fault);
        switch (selector)
        {
            case RecordSelector.None when selectorValue != 0:
                return Fail(index, "selector value", selectorValue, "must be 0 when the selector kind is 0 (none)", out fault);
            case RecordSelector.VsId when selectorValue is 0 or > int.MaxValue:
                return Fail(index, "VS id", selectorValue, "is not a VS id (1 to 2147483647)", out fault);
            case RecordSelector.Vlan when selectorValue is 0 or > MaxVlan:
                return Fail(index, "VLAN id", selectorValue, "is outside 1-4094", out fault);
            case RecordSelector.None or RecordSelector.VsId or RecordSelector.Vlan:
                break;
            default:
                return Fail(index, "selector kind", (byte)selector, "is unknown (0 none, 1 VS id, 2 VLAN)", out fault);
        }
        if (!IsAssignedProtocol((byte)protocol))
            return Fail(index, "protocol", (byte)protocol, "is not an assigned IP protocol number (0-142, 253, 254)", out fault);
        NetAddress source, destination;
        if (family == 4)
        {
            if (!IsZero(d.Slice(20, 12)) || !IsZero(d.Slice(36, 12)))
                return Fail(index, "address family", family, "(IPv4) has non-zero bytes 4-15 in an address", out fault);
            source = NetAddress.FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(d[16..]));
            destination = NetAddress.FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(d[32..]));
            if (protocol == IpProtocol.IcmpV6)
                return Fail(index, "protocol", (byte)protocol, "is ICMPv6 on an IPv4 packet", out fault);
        }
        else if (family == 6)
        {
            source = new NetAddress(BinaryPrimitives.ReadUInt128BigEndian(d[16..]));
            destination = new NetAddress(BinaryPrimitives.ReadUInt128BigEndian(d[32..]));
            if (protocol == IpProtocol.Icmp)
                return Fail(index, "protocol", (byte)protocol, "is ICMP (IPv4) on an IPv6 packet", out fault);
        }
        else
        {
            return Fail(index, "address family", family, "is unknown (4 or 6)", out fault);
        }
        if (ipLength is < 0 or > MaxIpLength)
            return Fail(index, "IP length", ipLength, "is outside 0-65575", out fault);
        if (d[53] != 0)
            return Fail(index, "reserved byte 53 =", d[53], "must be 0", out fault);
        if (BinaryPrimitives.ReadUInt32LittleEndian(d[60..]) is var reserved && reserved != 0)
            return Fail(index, "reserved bytes 60-63 =", reserved, "must be 0", out fault);
        var header = new PacketHeader(
            protocol,
            source,
            BinaryPrimitives.ReadUInt16LittleEndian(d[48..]),
            destination,
            BinaryPrimitives.ReadUInt16LittleEndian(d[50..]),
            protocol == IpProtocol.Tcp ? flags : TcpFlags.None,
            d[52],
            BinaryPrimitives.ReadUInt16LittleEndian(d[54..]),
            ipLength);
        record = new IngressRecord(selector, (int)selectorValue, new TimedPacket(timestamp, header));
        return true;
    }

    /// <summary>IANA's assigned protocol numbers (2026): 0–142, and 253/254 for experiments; 143–252 are unassigned, 255 reserved.</summary>
    private static bool IsAssignedProtocol(byte p) => p <= 142 || p is 253 or 254;

    private static bool IsZero(ReadOnlySpan<byte> bytes) => bytes.IndexOfAnyExcept((byte)0) < 0;

    private static bool Fail(int index, string field, long value, string problem, out string? fault)
    {
        // Built only on the error path: decoding a valid batch allocates nothing.
        fault = string.Create(CultureInfo.InvariantCulture,
            $"record {index} (bytes {index * RecordSize}-{index * RecordSize + RecordSize - 1}): {field} {value} {problem}");
        return false;
    }
}
