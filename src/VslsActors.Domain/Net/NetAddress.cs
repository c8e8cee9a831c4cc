using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace VslsActors.Domain.Net;

/// <summary>
/// An IPv4 or IPv6 address as one 128-bit number, so that both families share one key type,
/// one comparison and one hash. IPv4 addresses live in the IPv4-mapped range
/// <c>::ffff:0:0/96</c>; an IPv6 packet that really carries a mapped address is treated as the
/// IPv4 address it names, which is what a firewall does with it too.
/// </summary>
public readonly record struct NetAddress : IComparable<NetAddress>
{
    private static readonly UInt128 MappedPrefix = new(0, 0x0000_FFFF_0000_0000UL);
    private static readonly UInt128 MappedMask = new(ulong.MaxValue, 0xFFFF_FFFF_0000_0000UL);

    /// <summary>The address as a 128-bit big-endian number.</summary>
    public UInt128 Value { get; }

    /// <summary>Wraps a 128-bit value.</summary>
    public NetAddress(UInt128 value) => Value = value;

    /// <summary>An IPv4 address from its 32-bit value (a.b.c.d = a&lt;&lt;24 | …).</summary>
    public static NetAddress FromIPv4(uint value) => new(MappedPrefix | value);

    /// <summary>An IPv6 address from its two 64-bit halves.</summary>
    public static NetAddress FromIPv6(ulong high, ulong low) => new(new UInt128(high, low));

    /// <summary>Whether this is an IPv4 address.</summary>
    public bool IsIPv4 => (Value & MappedMask) == MappedPrefix;

    /// <summary>The 32-bit IPv4 value; meaningful only when <see cref="IsIPv4"/>.</summary>
    public uint IPv4Value => (uint)(Value & uint.MaxValue);

    /// <summary>Upper 64 bits.</summary>
    public ulong High => (ulong)(Value >> 64);

    /// <summary>Lower 64 bits.</summary>
    public ulong Low => (ulong)Value;

    /// <summary>Converts from <see cref="IPAddress"/>.</summary>
    public static NetAddress From(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            Span<byte> b4 = stackalloc byte[4];
            address.TryWriteBytes(b4, out _);
            return FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(b4));
        }
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        return new NetAddress(BinaryPrimitives.ReadUInt128BigEndian(b));
    }

    /// <summary>Converts to <see cref="IPAddress"/> (an IPv4 address comes back as IPv4).</summary>
    public IPAddress ToIPAddress()
    {
        if (IsIPv4)
        {
            Span<byte> b4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b4, IPv4Value);
            return new IPAddress(b4);
        }
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(b, Value);
        return new IPAddress(b);
    }

    /// <summary>
    /// Parses IPv4 dotted-quad or IPv6 text. Strict on purpose: <see cref="IPAddress.TryParse(string?, out IPAddress?)"/>
    /// also reads shorthand such as <c>10.1</c> (as 10.0.0.1) and <c>10</c> (as 0.0.0.10), which in a
    /// policy is a typo far more often than an intent; zone ids (<c>%eth0</c>) mean nothing here either.
    /// </summary>
    public static bool TryParse(string? text, out NetAddress address)
    {
        if (text is not null && !text.Contains('%') && (text.Contains(':') || IsDottedQuad(text)) && IPAddress.TryParse(text, out var ip))
        {
            address = From(ip);
            return true;
        }
        address = default;
        return false;
    }

    private static bool IsDottedQuad(string text)
    {
        var parts = 0;
        var digits = 0;
        foreach (var c in text)
        {
            if (c == '.')
            {
                if (digits == 0)
                    return false;
                parts++;
                digits = 0;
            }
            else if (char.IsAsciiDigit(c) && digits < 3)
            {
                digits++;
            }
            else
            {
                return false;
            }
        }
        return parts == 3 && digits > 0;
    }

    /// <summary>Parses dotted IPv4 or IPv6 text; throws <see cref="FormatException"/> otherwise.</summary>
    public static NetAddress Parse(string text) =>
        TryParse(text, out var a) ? a : throw new FormatException($"'{text}' is not an IPv4 or IPv6 address");

    /// <inheritdoc />
    public int CompareTo(NetAddress other) => Value.CompareTo(other.Value);

    /// <inheritdoc />
    public override string ToString() => ToIPAddress().ToString();
}
