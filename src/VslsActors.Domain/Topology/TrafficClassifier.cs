using VslsActors.Domain.Net;

namespace VslsActors.Domain.Topology;

/// <summary>
/// Decides which virtual system a packet belongs to, as a VSX gateway does from the interface
/// it arrives on: by its VLAN id when that VLAN is mapped to a VS, otherwise by the longest
/// configured subnet containing its destination address. Immutable and thread-safe; a lookup
/// allocates nothing.
/// <para>Structure: a 4095-slot array indexed by VLAN id, and, per address family, one hash
/// table per distinct prefix length, probed from the longest length down. Topologies have a
/// handful of distinct lengths, so a lookup is a few masked dictionary probes.</para>
/// </summary>
public sealed class TrafficClassifier
{
    private const int MaxVlan = 4094;

    private readonly VsId[] _byVlan = new VsId[MaxVlan + 1];
    private readonly LengthTable<uint>[] _v4;
    private readonly LengthTable<UInt128>[] _v6;

    /// <summary>One prefix length's mask and the networks of that length.</summary>
    private sealed class LengthTable<T>(int length, T mask) where T : notnull
    {
        public int Length { get; } = length;
        public T Mask { get; } = mask;
        public Dictionary<T, VsId> Networks { get; } = [];
    }

    /// <summary>Builds the classifier from the VLANs and subnets of every VS in <paramref name="topology"/>.</summary>
    /// <exception cref="ArgumentException">when two VSs claim the same VLAN or the same prefix (the loader
    /// refuses such files; this guards topologies built in code).</exception>
    public TrafficClassifier(Topology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var v4 = new Dictionary<int, LengthTable<uint>>();
        var v6 = new Dictionary<int, LengthTable<UInt128>>();
        foreach (var vs in topology.VirtualSystems)
        {
            foreach (var vlan in vs.Vlans)
            {
                if (vlan is < 1 or > MaxVlan)
                    throw new ArgumentException($"virtual system {vs.Id}: VLAN {vlan} is outside 1-{MaxVlan}", nameof(topology));
                if (_byVlan[vlan] != default && _byVlan[vlan] != vs.Id)
                    throw new ArgumentException($"VLAN {vlan} is claimed by virtual systems {_byVlan[vlan]} and {vs.Id}", nameof(topology));
                _byVlan[vlan] = vs.Id;
            }
            foreach (var prefix in vs.Subnets)
            {
                if (prefix.IsIPv4)
                {
                    var mask = prefix.Length == 0 ? 0u : uint.MaxValue << (32 - prefix.Length);
                    Add(v4, prefix.Length, mask, prefix.Network.IPv4Value, vs.Id, prefix);
                }
                else
                {
                    var mask = prefix.Length == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - prefix.Length);
                    Add(v6, prefix.Length, mask, prefix.Network.Value, vs.Id, prefix);
                }
            }
        }
        _v4 = SortedLongestFirst(v4);
        _v6 = SortedLongestFirst(v6);
    }

    private static void Add<T>(Dictionary<int, LengthTable<T>> tables, int length, T mask, T network, VsId vs, IpPrefix prefix) where T : notnull
    {
        if (!tables.TryGetValue(length, out var table))
            tables[length] = table = new LengthTable<T>(length, mask);
        if (table.Networks.TryGetValue(network, out var owner) && owner != vs)
            throw new ArgumentException($"subnet {prefix} is claimed by virtual systems {owner} and {vs}", "topology");
        table.Networks[network] = vs;
    }

    private static LengthTable<T>[] SortedLongestFirst<T>(Dictionary<int, LengthTable<T>> tables) where T : notnull
    {
        var result = new LengthTable<T>[tables.Count];
        tables.Values.CopyTo(result, 0);
        Array.Sort(result, static (a, b) => b.Length.CompareTo(a.Length));
        return result;
    }

    /// <summary>
    /// The VS for a packet: its VLAN's VS when <paramref name="vlanId"/> is mapped, else the VS of the
    /// longest subnet containing <paramref name="destination"/>. False when neither decides.
    /// </summary>
    public bool TryClassify(int? vlanId, NetAddress destination, out VsId vs)
    {
        if (vlanId is { } vlan && (uint)vlan <= MaxVlan)
        {
            vs = _byVlan[vlan];
            if (vs != default)
                return true;
        }
        return TryClassifyAddress(destination, out vs);
    }

    /// <summary>The VS of the longest configured subnet containing <paramref name="destination"/>.</summary>
    public bool TryClassifyAddress(NetAddress destination, out VsId vs)
    {
        if (destination.IsIPv4)
        {
            var a = destination.IPv4Value;
            foreach (var table in _v4)
            {
                if (table.Networks.TryGetValue(a & table.Mask, out vs))
                    return true;
            }
        }
        else
        {
            var a = destination.Value;
            foreach (var table in _v6)
            {
                if (table.Networks.TryGetValue(a & table.Mask, out vs))
                    return true;
            }
        }
        vs = default;
        return false;
    }
}
