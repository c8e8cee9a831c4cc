namespace VslsActors.Domain.Net;

/// <summary>
/// A CIDR prefix such as <c>10.1.0.0/16</c> or <c>2001:db8::/32</c>. The length counts within
/// the address's own family (0–32 for IPv4, 0–128 for IPv6). Host bits must be zero: a prefix
/// written with host bits set is a typing mistake more often than not, so it is refused.
/// </summary>
public readonly record struct IpPrefix
{
    /// <summary>The network address (host bits zero).</summary>
    public NetAddress Network { get; }

    /// <summary>The prefix length within the family.</summary>
    public int Length { get; }

    private IpPrefix(NetAddress network, int length)
    {
        Network = network;
        Length = length;
    }

    /// <summary>Whether this is an IPv4 prefix.</summary>
    public bool IsIPv4 => Network.IsIPv4;

    /// <summary>Number of significant bits in the 128-bit space.</summary>
    private int Bits128 => IsIPv4 ? 96 + Length : Length;

    /// <summary>The first address of the prefix in the 128-bit space.</summary>
    public UInt128 First => Network.Value;

    /// <summary>The last address of the prefix in the 128-bit space.</summary>
    public UInt128 Last => Network.Value | HostMask(Bits128);

    /// <summary>Whether <paramref name="address"/> lies within the prefix.</summary>
    public bool Contains(NetAddress address) => address.Value >= First && address.Value <= Last;

    /// <summary>A prefix covering exactly one address.</summary>
    public static IpPrefix Host(NetAddress address) => new(address, address.IsIPv4 ? 32 : 128);

    private static UInt128 HostMask(int bits) => bits >= 128 ? UInt128.Zero : UInt128.MaxValue >> bits;

    /// <summary>
    /// Parses <c>address/length</c>, or a bare address as a host prefix. On failure
    /// <paramref name="error"/> says what is wrong in words an operator understands.
    /// </summary>
    public static bool TryParse(string? text, out IpPrefix prefix, out string error)
    {
        prefix = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "an empty address or CIDR";
            return false;
        }
        var slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        if (!NetAddress.TryParse(addressText, out var address))
        {
            error = $"'{text}' is not an address or CIDR ('{addressText}' is not an IPv4 or IPv6 address)";
            return false;
        }
        var max = address.IsIPv4 ? 32 : 128;
        var length = max;
        if (slash >= 0)
        {
            var lengthText = text[(slash + 1)..];
            if (!int.TryParse(lengthText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out length) || length > max)
            {
                error = $"'{text}' is not a CIDR (prefix length must be 0-{max})";
                return false;
            }
        }
        var bits = address.IsIPv4 ? 96 + length : length;
        if ((address.Value & HostMask(bits)) != 0)
        {
            error = $"'{text}' is not a CIDR (host bits are set; did you mean {new IpPrefix(new NetAddress(address.Value & ~HostMask(bits)), length)}?)";
            return false;
        }
        prefix = new IpPrefix(address, length);
        error = "";
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/> with the message of <see cref="TryParse"/>.</summary>
    public static IpPrefix Parse(string text) =>
        TryParse(text, out var p, out var error) ? p : throw new FormatException(error);

    /// <inheritdoc />
    public override string ToString() => $"{Network}/{Length}";
}
