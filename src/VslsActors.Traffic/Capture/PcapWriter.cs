using System.Buffers.Binary;

namespace VslsActors.Traffic.Capture;

/// <summary>
/// Writes a classic little-endian pcap file (microsecond or nanosecond timestamps), for the
/// benchmark's generated captures and for tests; <see cref="CaptureReader"/> reads it back.
/// </summary>
public sealed class PcapWriter : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _nanoseconds;
    private readonly byte[] _header = new byte[16];

    /// <summary>Writes the file header to <paramref name="stream"/> (which the writer then owns).</summary>
    public PcapWriter(Stream stream, int linkType = LinkTypes.Ethernet, bool nanoseconds = false, int snapLength = 262_144)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _nanoseconds = nanoseconds;
        Span<byte> h = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(h, nanoseconds ? 0xA1B23C4Du : 0xA1B2C3D4u);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], snapLength);
        BinaryPrimitives.WriteInt32LittleEndian(h[20..], linkType);
        _stream.Write(h);
    }

    /// <summary>Appends one frame captured at <paramref name="utcTicks"/>.</summary>
    public void Write(long utcTicks, ReadOnlySpan<byte> frame, int originalLength = -1)
    {
        var sinceEpoch = utcTicks - DateTime.UnixEpoch.Ticks;
        var seconds = sinceEpoch / TimeSpan.TicksPerSecond;
        var rest = sinceEpoch % TimeSpan.TicksPerSecond;
        BinaryPrimitives.WriteUInt32LittleEndian(_header, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(_header.AsSpan(4), (uint)(_nanoseconds ? rest * 100 : rest / 10));
        BinaryPrimitives.WriteInt32LittleEndian(_header.AsSpan(8), frame.Length);
        BinaryPrimitives.WriteInt32LittleEndian(_header.AsSpan(12), originalLength < 0 ? frame.Length : originalLength);
        _stream.Write(_header);
        _stream.Write(frame);
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}

/// <summary>
/// Builds well-formed Ethernet frames (optionally 802.1Q-tagged) carrying IPv4 or IPv6 with TCP,
/// UDP or ICMP, for generated captures (benchmark, tests). Checksums are left zero: nothing in
/// replay reads them.
/// </summary>
public static class FrameBuilder
{
    /// <summary>An Ethernet frame with an IPv4 packet of <paramref name="protocol"/> whose transport header is <paramref name="transport"/>, followed by <paramref name="payloadBytes"/> zero bytes.</summary>
    public static byte[] EthernetIPv4(uint source, uint destination, byte protocol, ReadOnlySpan<byte> transport, int payloadBytes = 0, int vlan = -1)
    {
        var ipLength = 20 + transport.Length + payloadBytes;
        var l2 = vlan >= 0 ? 18 : 14;
        var frame = new byte[l2 + ipLength];
        WriteEthernet(frame, 0x0800, vlan);
        var ip = frame.AsSpan(l2);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ipLength);
        ip[8] = 64;
        ip[9] = protocol;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], source);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], destination);
        transport.CopyTo(ip[20..]);
        return frame;
    }

    /// <summary>An Ethernet frame with an IPv6 packet (no extension headers).</summary>
    public static byte[] EthernetIPv6(UInt128 source, UInt128 destination, byte nextHeader, ReadOnlySpan<byte> transport, int payloadBytes = 0, int vlan = -1)
    {
        var payloadLength = transport.Length + payloadBytes;
        var l2 = vlan >= 0 ? 18 : 14;
        var frame = new byte[l2 + 40 + payloadLength];
        WriteEthernet(frame, 0x86DD, vlan);
        var ip = frame.AsSpan(l2);
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)payloadLength);
        ip[6] = nextHeader;
        ip[7] = 64;
        BinaryPrimitives.WriteUInt128BigEndian(ip[8..], source);
        BinaryPrimitives.WriteUInt128BigEndian(ip[24..], destination);
        transport.CopyTo(ip[40..]);
        return frame;
    }

    /// <summary>A 20-byte TCP header.</summary>
    public static byte[] Tcp(ushort sourcePort, ushort destinationPort, byte flags)
    {
        var t = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(t, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), destinationPort);
        t[12] = 5 << 4;
        t[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(14), 65535);
        return t;
    }

    /// <summary>An 8-byte UDP header for <paramref name="payloadBytes"/> bytes of payload.</summary>
    public static byte[] Udp(ushort sourcePort, ushort destinationPort, int payloadBytes)
    {
        var u = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(u, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)(8 + payloadBytes));
        return u;
    }

    /// <summary>An 8-byte ICMP/ICMPv6 echo header.</summary>
    public static byte[] IcmpEcho(byte type, ushort id, ushort sequence)
    {
        var i = new byte[8];
        i[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(i.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(i.AsSpan(6), sequence);
        return i;
    }

    private static void WriteEthernet(Span<byte> frame, ushort etherType, int vlan)
    {
        // Locally administered MACs: 02:00:00:00:00:01 -> 02:00:00:00:00:02.
        frame[0] = 2;
        frame[5] = 2;
        frame[6] = 2;
        frame[11] = 1;
        if (vlan >= 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame[12..], 0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(frame[14..], (ushort)(vlan & 0x0FFF));
            BinaryPrimitives.WriteUInt16BigEndian(frame[16..], etherType);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame[12..], etherType);
        }
    }
}
