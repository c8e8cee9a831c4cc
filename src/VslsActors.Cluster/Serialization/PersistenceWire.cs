using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.Serialization;
using System.Text;
using VslsActors.Domain.Net;

namespace VslsActors.Cluster.Serialization;

/// <summary>
/// Writes the persistence format into a buffer sized exactly beforehand (see the <c>SizeOf…</c>
/// helpers): little-endian fixed-width integers, LEB128 varints for counts and counters,
/// addresses as 16 big-endian bytes, strings as varint length + UTF-8.
/// </summary>
internal ref struct WireWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    private int _position;

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Byte(byte value) => _buffer[_position++] = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void UInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer[_position..], value);
        _position += 2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Int64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_buffer[_position..], value);
        _position += 8;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Address(NetAddress address)
    {
        BinaryPrimitives.WriteUInt128BigEndian(_buffer[_position..], address.Value);
        _position += 16;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void VarUInt(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer[_position++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_position++] = (byte)value;
    }

    /// <summary>A signed value zig-zag encoded, so small negative numbers stay small.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void VarInt(long value) => VarUInt((ulong)((value << 1) ^ (value >> 63)));

    public void String(string? value)
    {
        value ??= "";
        var length = Encoding.UTF8.GetByteCount(value);
        VarUInt((ulong)length);
        _position += Encoding.UTF8.GetBytes(value, _buffer.Slice(_position, length));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SizeOfVarUInt(ulong value)
    {
        // 1 byte per started group of 7 bits; 0 takes one byte.
        var bits = 64 - System.Numerics.BitOperations.LeadingZeroCount(value | 1);
        return (bits + 6) / 7;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SizeOfVarInt(long value) => SizeOfVarUInt((ulong)((value << 1) ^ (value >> 63)));

    public static int SizeOfString(string? value)
    {
        var length = Encoding.UTF8.GetByteCount(value ?? "");
        return SizeOfVarUInt((ulong)length) + length;
    }
}

/// <summary>
/// Reads what <see cref="WireWriter"/> wrote. Every read is bounds-checked and a truncated or
/// malformed payload becomes a <see cref="SerializationException"/> naming the manifest, never an
/// <see cref="IndexOutOfRangeException"/> from deep inside.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> buffer, string manifest)
{
    private readonly ReadOnlySpan<byte> _buffer = buffer;
    private readonly string _manifest = manifest;
    private int _position;

    /// <summary>Bytes not read yet.</summary>
    public readonly int Remaining => _buffer.Length - _position;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte Byte()
    {
        if (_position >= _buffer.Length)
            throw Truncated();
        return _buffer[_position++];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort UInt16()
    {
        if (Remaining < 2)
            throw Truncated();
        var v = BinaryPrimitives.ReadUInt16LittleEndian(_buffer[_position..]);
        _position += 2;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Int64()
    {
        if (Remaining < 8)
            throw Truncated();
        var v = BinaryPrimitives.ReadInt64LittleEndian(_buffer[_position..]);
        _position += 8;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public NetAddress Address()
    {
        if (Remaining < 16)
            throw Truncated();
        var v = BinaryPrimitives.ReadUInt128BigEndian(_buffer[_position..]);
        _position += 16;
        return new NetAddress(v);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong VarUInt()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = Byte();
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
                return result;
        }
        throw Malformed("a varint is longer than 10 bytes");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long VarInt()
    {
        var raw = VarUInt();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    /// <summary>A count of items that each take at least <paramref name="minItemBytes"/> bytes: refuses counts the payload cannot hold, before anything is allocated for them.</summary>
    public int Count(int minItemBytes)
    {
        var count = VarUInt();
        if (count > (ulong)(Remaining / Math.Max(1, minItemBytes)))
            throw Malformed($"it announces {count} items but only {Remaining} bytes follow");
        return (int)count;
    }

    public string String()
    {
        var length = Count(1);
        var s = length == 0 ? "" : Encoding.UTF8.GetString(_buffer.Slice(_position, length));
        _position += length;
        return s;
    }

    /// <summary>Checks the format version byte that starts every payload.</summary>
    public void Version(byte newestKnown)
    {
        var version = Byte();
        if (version == 0 || version > newestKnown)
            throw Malformed($"format version {version} is not one this build reads (1-{newestKnown}); was it written by a newer VSLS?");
    }

    /// <summary>Checks that the payload has been read to its last byte.</summary>
    public readonly void End()
    {
        if (Remaining != 0)
            throw Malformed($"{Remaining} bytes are left over after the payload");
    }

    public readonly SerializationException Malformed(string what) =>
        new($"VSLS persistence payload '{_manifest}' is malformed: {what}.");

    private readonly SerializationException Truncated() =>
        new($"VSLS persistence payload '{_manifest}' is malformed: it ends early ({_buffer.Length} bytes).");
}
