using VslsActors.Domain.Net;

namespace VslsActors.Domain.Flows;

/// <summary>
/// One side of a flow: an address and a port. For ICMP echo the "port" is the echo identifier;
/// for other ICMP messages and other IP protocols it is 0. Ordered by (address, port), which is
/// the order <see cref="FlowKey"/> uses to put a flow's two sides into canonical form.
/// </summary>
public readonly record struct FlowEndpoint(NetAddress Address, ushort Port) : IComparable<FlowEndpoint>
{
    /// <inheritdoc />
    public int CompareTo(FlowEndpoint other)
    {
        var c = Address.CompareTo(other.Address);
        return c != 0 ? c : Port.CompareTo(other.Port);
    }

    /// <inheritdoc />
    public override string ToString() =>
        Address.IsIPv4
            ? $"{Address}:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}"
            : $"[{Address}]:{Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}

/// <summary>Which way a packet travels relative to the side that opened its connection.</summary>
public enum FlowDirection : byte
{
    /// <summary>From the originator (the side that sent the first packet) to the responder.</summary>
    Original = 0,
    /// <summary>From the responder back to the originator.</summary>
    Reply = 1,
}
