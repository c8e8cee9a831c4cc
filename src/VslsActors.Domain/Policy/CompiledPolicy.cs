using System.Numerics;
using System.Runtime.CompilerServices;
using VslsActors.Domain.Net;

namespace VslsActors.Domain.Policy;

/// <summary>
/// A VS's policy compiled for first-packet decisions with the bit-vector scheme of Lakshman and
/// Stiliadis: each dimension (source, destination, service) maps a packet's value, by binary
/// search over precomputed elementary intervals or by a direct table, to a bitset of the rules
/// whose cell matches it; the decision is the lowest rule set in all three bitsets, found by
/// ANDing 64 rules at a time. No rule is walked and nothing is allocated per decision.
/// Immutable and safe to share between threads. Built by <see cref="PolicyCompiler.Compile"/>.
/// </summary>
public sealed class CompiledPolicy
{
    private readonly PolicyDecision[] _decisions;
    private readonly ulong[] _sets;
    private readonly int _words;
    private readonly AddressTable _source;
    private readonly AddressTable _destination;
    private readonly PortTable _tcp;
    private readonly PortTable _udp;
    private readonly int[] _icmp;
    private readonly int[] _icmpV6;
    private readonly int[] _protocols;

    internal CompiledPolicy(
        PolicyDefinition definition,
        PolicyDecision[] decisions,
        ulong[] sets,
        int words,
        AddressTable source,
        AddressTable destination,
        PortTable tcp,
        PortTable udp,
        int[] icmp,
        int[] icmpV6,
        int[] protocols,
        int distinctRuleSets)
    {
        Definition = definition;
        _decisions = decisions;
        _sets = sets;
        _words = words;
        _source = source;
        _destination = destination;
        _tcp = tcp;
        _udp = udp;
        _icmp = icmp;
        _icmpV6 = icmpV6;
        _protocols = protocols;
        DistinctRuleSets = distinctRuleSets;
    }

    /// <summary>The policy as written.</summary>
    public PolicyDefinition Definition { get; }

    /// <summary>Number of explicit rules (the implicit cleanup rule not counted).</summary>
    public int RuleCount => _decisions.Length;

    /// <summary>Elementary source-address intervals after compilation (for logs and capacity figures).</summary>
    public int SourceIntervals => _source.Count;

    /// <summary>Elementary destination-address intervals after compilation.</summary>
    public int DestinationIntervals => _destination.Count;

    /// <summary>Distinct rule bitsets shared by all dimensions.</summary>
    public int DistinctRuleSets { get; }

    /// <summary>
    /// Decides the first packet of a connection: the first rule whose source, destination and
    /// service cells all match, or the implicit cleanup rule. For ICMP and ICMPv6
    /// <paramref name="destinationPort"/> is ignored and <paramref name="icmpType"/> decides; for
    /// every other protocol <paramref name="icmpType"/> is ignored, and so is the port unless the
    /// protocol is TCP or UDP.
    /// </summary>
    public PolicyDecision Decide(NetAddress source, NetAddress destination, IpProtocol protocol, ushort destinationPort, byte icmpType)
    {
        var s = _source.Find(source);
        var d = _destination.Find(destination);
        var v = protocol switch
        {
            IpProtocol.Tcp => _tcp.Find(destinationPort),
            IpProtocol.Udp => _udp.Find(destinationPort),
            IpProtocol.Icmp => _icmp[icmpType],
            IpProtocol.IcmpV6 => _icmpV6[icmpType],
            _ => _protocols[(byte)protocol],
        };
        var words = _words;
        var sets = _sets;
        var a = sets.AsSpan(s, words);
        var b = sets.AsSpan(d, words);
        var c = sets.AsSpan(v, words);
        for (var w = 0; w < a.Length; w++)
        {
            var hit = a[w] & b[w] & c[w];
            if (hit != 0)
                return _decisions[(w << 6) + BitOperations.TrailingZeroCount(hit)];
        }
        return PolicyDecision.ImplicitCleanup;
    }

    /// <summary>The decision a rule makes when it matches (0-based index).</summary>
    public PolicyDecision RuleDecision(int ruleIndex) => _decisions[ruleIndex];

    /// <inheritdoc />
    public override string ToString() =>
        $"{RuleCount} rules, {SourceIntervals} source and {DestinationIntervals} destination intervals, {DistinctRuleSets} distinct rule sets";
}

/// <summary>
/// One address dimension: elementary intervals of the 128-bit space with the pool offset of
/// their rule bitset. IPv4 addresses, the common case, are searched in a 32-bit copy of the
/// table clipped to the IPv4-mapped range, which halves the work of each comparison.
/// </summary>
internal sealed class AddressTable
{
    private static readonly UInt128 MappedBase = NetAddress.FromIPv4(0).Value;

    private readonly uint[] _v4Starts;
    private readonly int[] _v4Offsets;
    private readonly UInt128[] _starts;
    private readonly int[] _offsets;

    public AddressTable(UInt128[] starts, int[] offsets)
    {
        _starts = starts;
        _offsets = offsets;
        var mappedLast = MappedBase + uint.MaxValue;
        var first = Search(starts, MappedBase);
        var v4Starts = new List<uint> { 0 };
        var v4Offsets = new List<int> { offsets[first] };
        for (var i = first + 1; i < starts.Length && starts[i] <= mappedLast; i++)
        {
            v4Starts.Add((uint)(starts[i] - MappedBase));
            v4Offsets.Add(offsets[i]);
        }
        _v4Starts = [.. v4Starts];
        _v4Offsets = [.. v4Offsets];
    }

    public int Count => _starts.Length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(NetAddress address) => address.IsIPv4
        ? _v4Offsets[Search(_v4Starts, address.IPv4Value)]
        : _offsets[Search(_starts, address.Value)];

    /// <summary>Index of the last start ≤ <paramref name="value"/>; <c>starts[0]</c> is 0, so one always exists.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Search<T>(T[] starts, T value) where T : IComparisonOperators<T, T, bool>
    {
        // Halving without an early exit: the loop runs log2(n) times whatever the data, and the
        // comparison compiles to a conditional move instead of a hard-to-predict branch.
        var low = 0;
        var n = starts.Length;
        while (n > 1)
        {
            var half = n >> 1;
            if (starts[low + half] <= value)
                low += half;
            n -= half;
        }
        return low;
    }
}

/// <summary>TCP or UDP destination ports: elementary port intervals with their rule bitsets.</summary>
internal sealed class PortTable
{
    private readonly ushort[] _starts;
    private readonly int[] _offsets;

    public PortTable(UInt128[] starts, int[] offsets)
    {
        _starts = new ushort[starts.Length];
        for (var i = 0; i < starts.Length; i++)
            _starts[i] = (ushort)starts[i];
        _offsets = offsets;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Find(ushort port) => _offsets[AddressTable.Search(_starts, port)];
}
