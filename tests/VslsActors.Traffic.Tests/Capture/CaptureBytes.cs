using System.Buffers.Binary;

namespace VslsActors.Traffic.Tests.Capture;

/// <summary>Writes pcapng files byte by byte (either byte order), for the reader tests.</summary>
internal sealed class PcapNgBuilder(bool bigEndian)
{
    private readonly MemoryStream _out = new();

    public PcapNgBuilder Section()
    {
        var body = new byte[16];
        U32(body, 0, 0x1A2B3C4D);
        U16(body, 4, 1);
        U16(body, 6, 0);
        for (var i = 8; i < 16; i++)
            body[i] = 0xFF; // section length unknown
        return Block(0x0A0D0D0A, body);
    }

    /// <summary>An IDB; <paramref name="tsresol"/> is the raw if_tsresol byte (null = default microseconds).</summary>
    public PcapNgBuilder Interface(int linkType, byte? tsresol = null, long? tsoffset = null, int snapLength = 0)
    {
        var body = new List<byte>();
        var head = new byte[8];
        U16(head, 0, (ushort)linkType);
        U32(head, 4, (uint)snapLength);
        body.AddRange(head);
        if (tsresol is { } r)
            body.AddRange(Option(9, [r]));
        if (tsoffset is { } o)
        {
            var v = new byte[8];
            if (bigEndian)
                BinaryPrimitives.WriteInt64BigEndian(v, o);
            else
                BinaryPrimitives.WriteInt64LittleEndian(v, o);
            body.AddRange(Option(14, v));
        }
        if (tsresol is not null || tsoffset is not null)
            body.AddRange(new byte[4]); // opt_endofopt
        return Block(1, [.. body]);
    }

    public PcapNgBuilder Enhanced(int interfaceId, ulong timestampUnits, byte[] frame)
    {
        var body = new byte[20 + Pad(frame.Length)];
        U32(body, 0, (uint)interfaceId);
        U32(body, 4, (uint)(timestampUnits >> 32));
        U32(body, 8, (uint)timestampUnits);
        U32(body, 12, (uint)frame.Length);
        U32(body, 16, (uint)frame.Length);
        frame.CopyTo(body, 20);
        return Block(6, body);
    }

    public PcapNgBuilder Simple(byte[] frame)
    {
        var body = new byte[4 + Pad(frame.Length)];
        U32(body, 0, (uint)frame.Length);
        frame.CopyTo(body, 4);
        return Block(3, body);
    }

    /// <summary>A block of a type the reader skips (a name resolution block).</summary>
    public PcapNgBuilder Other() => Block(4, new byte[4]);

    public byte[] Bytes() => _out.ToArray();

    private PcapNgBuilder Block(uint type, byte[] body)
    {
        var length = 12 + body.Length;
        var head = new byte[8];
        U32(head, 0, type);
        U32(head, 4, (uint)length);
        _out.Write(head);
        _out.Write(body);
        var tail = new byte[4];
        U32(tail, 0, (uint)length);
        _out.Write(tail);
        return this;
    }

    private byte[] Option(ushort code, byte[] value)
    {
        var o = new byte[4 + Pad(value.Length)];
        U16(o, 0, code);
        U16(o, 2, (ushort)value.Length);
        value.CopyTo(o, 4);
        return o;
    }

    private static int Pad(int n) => (n + 3) & ~3;

    private void U32(byte[] b, int at, uint v)
    {
        if (bigEndian)
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), v);
        else
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
    }

    private void U16(byte[] b, int at, ushort v)
    {
        if (bigEndian)
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), v);
        else
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v);
    }
}

/// <summary>Classic pcap bytes in either byte order (the library's writer only writes little-endian).</summary>
internal static class PcapBytes
{
    public static byte[] File(bool bigEndian, bool nanoseconds, int linkType, params (uint Seconds, uint Fraction, byte[] Frame)[] records)
    {
        var s = new MemoryStream();
        void U32(uint v)
        {
            var b = new byte[4];
            if (bigEndian)
                BinaryPrimitives.WriteUInt32BigEndian(b, v);
            else
                BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            s.Write(b);
        }
        void U16(ushort v)
        {
            var b = new byte[2];
            if (bigEndian)
                BinaryPrimitives.WriteUInt16BigEndian(b, v);
            else
                BinaryPrimitives.WriteUInt16LittleEndian(b, v);
            s.Write(b);
        }
        U32(nanoseconds ? 0xA1B23C4Du : 0xA1B2C3D4u);
        U16(2);
        U16(4);
        U32(0);
        U32(0);
        U32(65535);
        U32((uint)linkType);
        foreach (var (sec, frac, frame) in records)
        {
            U32(sec);
            U32(frac);
            U32((uint)frame.Length);
            U32((uint)frame.Length);
            s.Write(frame);
        }
        return s.ToArray();
    }
}
