using VslsActors.Domain.Net;

namespace VslsActors.Domain.Connections;

/// <summary>
/// The protocol state of one connection: phase, per-direction counters and timestamps. A small
/// mutable struct that <see cref="ConnectionStateMachine.Step"/> updates in place by reference,
/// so the per-packet path neither allocates nor copies.
/// </summary>
/// <remarks>
/// Timestamps are UTC ticks (100 ns units since 0001-01-01, i.e. <see cref="DateTime.Ticks"/> of a
/// UTC <see cref="DateTime"/>), chosen so that they compare directly with <see cref="TimeSpan.Ticks"/>
/// of the timeouts. "Orig" counts packets from the originator, "Resp" from the responder; bytes
/// are IP-level bytes (<see cref="Flows.PacketHeader.IpLength"/>), as Zeek's
/// <c>orig_ip_bytes</c>/<c>resp_ip_bytes</c>. Only accepted packets are counted.
/// </remarks>
public struct ConnectionState
{
    /// <summary>The protocol phase.</summary>
    public ConnectionPhase Phase { readonly get; internal set; }

    /// <summary>The IP protocol of the connection.</summary>
    public IpProtocol Protocol { readonly get; internal set; }

    /// <summary>Whether the originator has sent a FIN (TCP only).</summary>
    public bool OriginatorFinSeen { readonly get; internal set; }

    /// <summary>Whether the responder has sent a FIN (TCP only).</summary>
    public bool ResponderFinSeen { readonly get; internal set; }

    /// <summary>Packets accepted from the originator.</summary>
    public long OrigPackets { readonly get; internal set; }

    /// <summary>IP bytes accepted from the originator.</summary>
    public long OrigBytes { readonly get; internal set; }

    /// <summary>Packets accepted from the responder.</summary>
    public long RespPackets { readonly get; internal set; }

    /// <summary>IP bytes accepted from the responder.</summary>
    public long RespBytes { readonly get; internal set; }

    /// <summary>Timestamp (UTC ticks) of the packet that opened the connection.</summary>
    public long FirstSeen { readonly get; internal set; }

    /// <summary>Timestamp (UTC ticks) of the latest accepted packet; idle timeouts run from here.</summary>
    public long LastSeen { readonly get; internal set; }

    /// <summary>
    /// Rebuilds a state from its recorded fields, e.g. from a checkpoint. No field is checked
    /// against the others: a checkpoint holds what a previous <see cref="ConnectionStateMachine.Step"/> produced.
    /// </summary>
    public static ConnectionState Restore(
        ConnectionPhase phase, IpProtocol protocol, bool originatorFinSeen, bool responderFinSeen,
        long origPackets, long origBytes, long respPackets, long respBytes, long firstSeen, long lastSeen) =>
        new()
        {
            Phase = phase,
            Protocol = protocol,
            OriginatorFinSeen = originatorFinSeen,
            ResponderFinSeen = responderFinSeen,
            OrigPackets = origPackets,
            OrigBytes = origBytes,
            RespPackets = respPackets,
            RespBytes = respBytes,
            FirstSeen = firstSeen,
            LastSeen = lastSeen,
        };

    /// <inheritdoc />
    public readonly override string ToString() =>
        $"{Phase} orig {OrigPackets} pkts/{OrigBytes} B, resp {RespPackets} pkts/{RespBytes} B";
}
