namespace VslsActors.Domain.Net;

/// <summary>
/// IP protocol number (the IPv4 "protocol" / IPv6 "next header" byte). The named values are
/// the ones with their own connection state machine; every other number is tracked as
/// "other IP" by addresses and protocol.
/// </summary>
public enum IpProtocol : byte
{
    /// <summary>ICMP for IPv4.</summary>
    Icmp = 1,
    /// <summary>TCP.</summary>
    Tcp = 6,
    /// <summary>UDP.</summary>
    Udp = 17,
    /// <summary>ICMP for IPv6.</summary>
    IcmpV6 = 58,
}

/// <summary>Names used for protocols in files, tables and the CLI.</summary>
public static class IpProtocolNames
{
    /// <summary>Lower-case name (<c>tcp</c>, <c>udp</c>, <c>icmp</c>, <c>icmpv6</c>) or the number.</summary>
    public static string Name(this IpProtocol protocol) => protocol switch
    {
        IpProtocol.Tcp => "tcp",
        IpProtocol.Udp => "udp",
        IpProtocol.Icmp => "icmp",
        IpProtocol.IcmpV6 => "icmpv6",
        _ => ((byte)protocol).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Parses a name or a protocol number 0–255.</summary>
    public static bool TryParse(string text, out IpProtocol protocol)
    {
        switch (text.ToLowerInvariant())
        {
            case "tcp": protocol = IpProtocol.Tcp; return true;
            case "udp": protocol = IpProtocol.Udp; return true;
            case "icmp": protocol = IpProtocol.Icmp; return true;
            case "icmpv6" or "ipv6-icmp": protocol = IpProtocol.IcmpV6; return true;
        }
        if (byte.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
        {
            protocol = (IpProtocol)n;
            return true;
        }
        protocol = default;
        return false;
    }
}
