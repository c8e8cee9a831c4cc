using VslsActors.Domain.Net;

namespace VslsActors.Traffic;

/// <summary>
/// A set of address ranges to draw addresses from, kept per family so that a source can be drawn
/// in the family of an already chosen destination.
/// </summary>
internal sealed class AddressPool
{
    private readonly List<(UInt128 First, UInt128 Last)> _v4 = [];
    private readonly List<(UInt128 First, UInt128 Last)> _v6 = [];

    /// <summary>Whether the pool has no range.</summary>
    public bool IsEmpty => _v4.Count == 0 && _v6.Count == 0;

    /// <summary>Adds a prefix.</summary>
    public void Add(IpPrefix prefix) => (prefix.IsIPv4 ? _v4 : _v6).Add((prefix.First, prefix.Last));

    /// <summary>Adds every range of <paramref name="other"/>.</summary>
    public void AddAll(AddressPool other)
    {
        _v4.AddRange(other._v4);
        _v6.AddRange(other._v6);
    }

    /// <summary>Whether the pool has a range of the given family.</summary>
    public bool Has(bool ipv4) => (ipv4 ? _v4 : _v6).Count > 0;

    /// <summary>
    /// An address from one range picked uniformly (ranges, not addresses, are equally likely, so a
    /// single host named in a group is hit as often as a /16 beside it — as real servers are).
    /// <paramref name="ipv4"/> null = any family.
    /// </summary>
    public bool TryDraw(Random random, bool? ipv4, out NetAddress address)
    {
        List<(UInt128 First, UInt128 Last)> list;
        if (ipv4 is { } v4)
            list = v4 ? _v4 : _v6;
        else
            list = _v4.Count > 0 && (_v6.Count == 0 || random.Next(_v4.Count + _v6.Count) < _v4.Count) ? _v4 : _v6;
        if (list.Count == 0)
        {
            address = default;
            return false;
        }
        var (first, last) = list[random.Next(list.Count)];
        var size = last - first;
        // Avoid the network and broadcast addresses of IPv4 ranges wider than /31 — no host sits there.
        UInt128 offset;
        if (size >= 3)
            offset = 1 + (UInt128)(ulong)random.NextInt64(0, (long)Math.Min((ulong)(size - 1), long.MaxValue));
        else
            offset = size == 0 ? 0 : (UInt128)(ulong)random.NextInt64(0, (long)size + 1);
        address = new NetAddress(first + offset);
        return true;
    }
}
