using System.Runtime.CompilerServices;
using VslsActors.Domain.Net;

namespace VslsActors.Domain.Flows;

/// <summary>
/// Identifies one connection inside a VS: the two endpoints in canonical order (lower, higher by
/// (address, port)) and the IP protocol, so that both directions of a connection give the same
/// key. The key also remembers which side initiated (<see cref="InitiatorIsLower"/>), but that is
/// deliberately not part of <see cref="Equals(FlowKey)"/> or the hash: a reply packet must find
/// its connection without knowing who opened it.
/// </summary>
/// <remarks>
/// <para>Ports by protocol (see <see cref="FromPacket"/>): TCP and UDP use their ports; ICMP and
/// ICMPv6 echo request/reply use the echo identifier as the port on both sides, so two pings with
/// different identifiers are two connections; every other ICMP message and every other IP
/// protocol uses port 0 on both sides (one connection per address pair and protocol). An echo with
/// identifier 0 therefore shares its key with the non-echo ICMP messages of the same two hosts;
/// the state machine accepts both kinds on such a connection.</para>
/// <para><see cref="StableHash"/> is a fixed function of the canonical form (no per-process seed),
/// so every member of the cluster computes the same value for the same flow.</para>
/// </remarks>
public readonly struct FlowKey : IEquatable<FlowKey>
{
    // Addresses are kept as 64-bit halves and the ports and protocol packed into one word so that
    // equality and hashing read plain ulongs; the struct is 40 bytes instead of the 48 that two
    // 16-byte-aligned UInt128 fields would take.
    private readonly ulong _lowerHigh;
    private readonly ulong _lowerLow;
    private readonly ulong _higherHigh;
    private readonly ulong _higherLow;
    private readonly uint _ports; // lower port << 16 | higher port
    private readonly IpProtocol _protocol;
    private readonly bool _initiatorIsLower;

    private FlowKey(ulong lowerHigh, ulong lowerLow, ushort lowerPort, ulong higherHigh, ulong higherLow, ushort higherPort, IpProtocol protocol, bool initiatorIsLower)
    {
        _lowerHigh = lowerHigh;
        _lowerLow = lowerLow;
        _higherHigh = higherHigh;
        _higherLow = higherLow;
        _ports = (uint)lowerPort << 16 | higherPort;
        _protocol = protocol;
        _initiatorIsLower = initiatorIsLower;
    }

    /// <summary>
    /// The key of a connection whose first packet went from <paramref name="source"/>:<paramref name="sourcePort"/>
    /// to <paramref name="destination"/>:<paramref name="destinationPort"/>; the source becomes the originator.
    /// The ports are taken as given (see <see cref="FromPacket"/> for the per-protocol rules).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FlowKey ForFirstPacket(NetAddress source, ushort sourcePort, NetAddress destination, ushort destinationPort, IpProtocol protocol)
    {
        ulong sh = source.High, sl = source.Low, dh = destination.High, dl = destination.Low;
        // Source is the lower side when (address, port) of the source ≤ that of the destination;
        // equality (a host talking to itself on one port) counts as lower so the originator is
        // still the source.
        bool sourceIsLower = sh != dh ? sh < dh : sl != dl ? sl < dl : sourcePort <= destinationPort;
        return sourceIsLower
            ? new FlowKey(sh, sl, sourcePort, dh, dl, destinationPort, protocol, initiatorIsLower: true)
            : new FlowKey(dh, dl, destinationPort, sh, sl, sourcePort, protocol, initiatorIsLower: false);
    }

    /// <summary>
    /// The key of the connection <paramref name="packet"/> belongs to, taking the packet's source as
    /// the originator (right for a first packet; for a later packet look the key up in the table,
    /// which ignores the originator, and use the stored key's <see cref="DirectionOf(in PacketHeader)"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FlowKey FromPacket(in PacketHeader packet)
    {
        FlowPorts(packet, out var sourcePort, out var destinationPort);
        return ForFirstPacket(packet.Source, sourcePort, packet.Destination, destinationPort, packet.Protocol);
    }

    /// <summary>
    /// The ports a packet contributes to its flow key: TCP/UDP ports; the echo identifier on both
    /// sides for ICMP/ICMPv6 echo request and reply; 0 for everything else.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FlowPorts(in PacketHeader packet, out ushort sourcePort, out ushort destinationPort)
    {
        switch (packet.Protocol)
        {
            case IpProtocol.Tcp or IpProtocol.Udp:
                sourcePort = packet.SourcePort;
                destinationPort = packet.DestinationPort;
                break;
            case IpProtocol.Icmp or IpProtocol.IcmpV6 when IcmpTypes.IsEcho(packet):
                sourcePort = packet.IcmpId;
                destinationPort = packet.IcmpId;
                break;
            default:
                sourcePort = 0;
                destinationPort = 0;
                break;
        }
    }

    /// <summary>The IP protocol.</summary>
    public IpProtocol Protocol => _protocol;

    /// <summary>The endpoint that sorts first by (address, port).</summary>
    public FlowEndpoint Lower => new(NetAddress.FromIPv6(_lowerHigh, _lowerLow), (ushort)(_ports >> 16));

    /// <summary>The endpoint that sorts last by (address, port).</summary>
    public FlowEndpoint Higher => new(NetAddress.FromIPv6(_higherHigh, _higherLow), (ushort)_ports);

    /// <summary>Whether the originator is <see cref="Lower"/>. Not part of equality or the hash.</summary>
    public bool InitiatorIsLower => _initiatorIsLower;

    /// <summary>The side that sent the connection's first packet.</summary>
    public FlowEndpoint Originator => _initiatorIsLower ? Lower : Higher;

    /// <summary>The side that received the connection's first packet.</summary>
    public FlowEndpoint Responder => _initiatorIsLower ? Higher : Lower;

    /// <summary>
    /// The direction of a packet sent from <paramref name="source"/>:<paramref name="sourcePort"/>
    /// on this flow: <see cref="FlowDirection.Original"/> when it comes from the originator.
    /// The caller is expected to pass a packet of this flow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FlowDirection DirectionOf(NetAddress source, ushort sourcePort)
    {
        bool fromLower = source.High == _lowerHigh && source.Low == _lowerLow && sourcePort == (ushort)(_ports >> 16);
        return fromLower == _initiatorIsLower ? FlowDirection.Original : FlowDirection.Reply;
    }

    /// <summary>The direction of <paramref name="packet"/> on this flow, using the per-protocol ports of <see cref="FlowPorts"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FlowDirection DirectionOf(in PacketHeader packet)
    {
        FlowPorts(packet, out var sourcePort, out _);
        return DirectionOf(packet.Source, sourcePort);
    }

    /// <summary>
    /// A 64-bit hash of the canonical form (addresses, ports, protocol) that is the same on every
    /// process, machine and run: members use it to agree on which connection goes where. It is
    /// symmetric because it only reads the canonical form. The function is fixed; a test pins its
    /// output for known keys, so any change to it is a deliberate, visible compatibility break.
    /// </summary>
    /// <remarks>
    /// wyhash-style: each address's two halves are folded with a 64×64→128-bit multiply (xor of
    /// the product's halves) against fixed odd constants, the two results and the ports/protocol
    /// word are folded the same way, and a splitmix64 finalizer spreads the result into every bit.
    /// The constants are public, so it is not a defence against crafted-collision floods; a table
    /// exposed to hostile traffic should bound its size (the VS connection limit does).
    /// </remarks>
    public ulong StableHash
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            ulong tail = (ulong)_ports << 32 | (ulong)(byte)_protocol << 8 | 0x5A;
            ulong a = Mum(_lowerHigh ^ K0, _lowerLow ^ K1);
            ulong b = Mum(_higherHigh ^ K2, _higherLow ^ K3);
            ulong h = Mum(a ^ K4, b ^ tail ^ K1);
            // splitmix64 finalizer: full avalanche so that any bit range can pick a bucket.
            h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
            h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
            return h ^ (h >> 31);
        }
    }

    // wyhash's published secrets plus one more odd constant; fixed forever (see StableHash).
    private const ulong K0 = 0xA0761D6478BD642FUL;
    private const ulong K1 = 0xE7037ED1A0B428DBUL;
    private const ulong K2 = 0x8EBC6AF09C88C6E3UL;
    private const ulong K3 = 0x589965CC75374CC3UL;
    private const ulong K4 = 0x1D8E4E27C47D124FUL;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mum(ulong x, ulong y)
    {
        ulong high = Math.BigMul(x, y, out ulong low);
        return high ^ low;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(FlowKey other) =>
        _lowerLow == other._lowerLow && _higherLow == other._higherLow &&
        _lowerHigh == other._lowerHigh && _higherHigh == other._higherHigh &&
        _ports == other._ports && _protocol == other._protocol;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is FlowKey other && Equals(other);

    /// <summary>Derived from <see cref="StableHash"/>, so it too is the same in every process.</summary>
    public override int GetHashCode()
    {
        var h = StableHash;
        return (int)(h ^ (h >> 32));
    }

    /// <summary>Equality of the canonical form (the originator is not compared).</summary>
    public static bool operator ==(FlowKey left, FlowKey right) => left.Equals(right);

    /// <summary>Inequality of the canonical form.</summary>
    public static bool operator !=(FlowKey left, FlowKey right) => !left.Equals(right);

    /// <summary><c>tcp 10.0.0.1:40000 -> 10.0.0.2:80</c>, originator first.</summary>
    public override string ToString() => $"{_protocol.Name()} {Originator} -> {Responder}";
}
