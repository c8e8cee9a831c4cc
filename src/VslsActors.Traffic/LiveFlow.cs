using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Traffic;

/// <summary>
/// One flow the generator is playing: its endpoints, intent and where it is in its script. Each
/// call of <see cref="Next"/> yields the flow's next packet in order, so a flow's packets never
/// overtake one another however flows are interleaved.
/// </summary>
internal sealed class LiveFlow
{
    private enum Stage : byte { Open, OpenReply, HandshakeAck, Data, FinClient, FinAckServer, FinServer, FinAckClient, Rst, Done }

    private readonly FlowEndpoints _ep;
    private Stage _stage;
    private int _dataRemaining;
    private int _repeats;

    public LiveFlow(long id, VsId vs, FlowEndpoints endpoints, FlowIntent intent, long openedAt, long endsAt, int dataPackets, bool endWithRst, TimeSpan syncDelay)
    {
        Id = id;
        Vs = vs;
        _ep = endpoints;
        Intent = intent;
        OpenedAt = openedAt;
        EndsAt = endsAt;
        _dataRemaining = dataPackets;
        EndWithRst = endWithRst;
        SyncDelay = syncDelay;
        // Dropped flows retry their opening once or twice, as clients do; out-of-state flows are one packet.
        _repeats = intent == FlowIntent.PolicyDropped ? 1 + (int)(id % 2) : 0;
    }

    public long Id { get; }
    public VsId Vs { get; }
    public FlowIntent Intent { get; }
    public FlowKind Kind => _ep.Kind;
    public long OpenedAt { get; }

    /// <summary>For long-lived flows: data goes on until this instant (UTC ticks); 0 for short flows.</summary>
    public long EndsAt { get; }

    public bool EndWithRst { get; }
    public TimeSpan SyncDelay { get; }
    public SyncMode Sync => _ep.Decision.Sync;
    public string RuleName => _ep.Decision.RuleName;
    public bool IsDone => _stage == Stage.Done;

    /// <summary>Timestamp (UTC ticks) of the flow's first packet, the VS's FirstSeen; 0 = not yet emitted.</summary>
    public long FirstPacketAt { get; private set; }

    /// <summary>When the connection became established from the generator's side (its first established packet was emitted); 0 = not yet.</summary>
    public long EstablishedAt { get; private set; }

    /// <summary>Whether the flow is in its data phase (established and not tearing down).</summary>
    public bool InDataPhase => _stage == Stage.Data && EstablishedAt != 0;

    /// <summary>The key of the flow's connection, originator = client.</summary>
    public FlowKey Key => FlowKey.ForFirstPacket(_ep.Client, Port(_ep.ClientPort), _ep.Server, Port(_ep.ServerPort), _ep.Protocol);

    private ushort Port(ushort p) => _ep.Kind == FlowKind.IcmpEcho ? _ep.IcmpId : p;

    /// <summary>
    /// Whether the VS has checkpointed or journaled this connection by <paramref name="at"/>, as far as
    /// the generator can tell: immediate-sync flows once established, delayed-sync flows once they have
    /// lived the VS's sync delay, never for sync none. <paramref name="margin"/> covers the time a batch
    /// takes to reach the VS and be journaled.
    /// </summary>
    /// <remarks>
    /// A delayed-sync connection is journaled by the VS's sweep timer, not by any packet, so no answered
    /// batch proves it durable by itself; <paramref name="sweptThrough"/> (UTC ticks) is the latest sync
    /// due time the VS is known to have swept and journaled (a batch sent a sweep interval after it was
    /// answered: the sweep was queued before that batch and a reply means everything before it is
    /// durable). Its due time counts from the flow's first packet, the VS's FirstSeen, not from when
    /// the generator created the flow.
    /// </remarks>
    public bool IsSyncedAt(long at, TimeSpan margin, long sweptThrough = long.MaxValue)
    {
        if (Intent != FlowIntent.Accepted || EstablishedAt == 0 || EstablishedAt > at - margin.Ticks)
            return false;
        return Sync switch
        {
            SyncMode.Immediate => true,
            SyncMode.Delayed => FirstPacketAt != 0 && at - FirstPacketAt >= (SyncDelay + margin).Ticks && FirstPacketAt + SyncDelay.Ticks <= sweptThrough,
            _ => false,
        };
    }

    /// <summary>
    /// A packet that continues the connection without changing it (TCP: a bare ACK from the client;
    /// ICMP echo: a reply from the server). The VS accepts it if it still knows the connection and
    /// drops it out-of-state if not, which is how the demo tells a lost connection. Null for UDP and
    /// other protocols: a datagram with no connection would open one rather than be refused.
    /// </summary>
    public PacketHeader? ProbePacket() => _ep.Kind switch
    {
        FlowKind.Tcp => PacketHeader.Tcp(_ep.Client, _ep.ClientPort, _ep.Server, _ep.ServerPort, TcpFlags.Ack, 52),
        FlowKind.IcmpEcho => PacketHeader.Icmp(_ep.Server, _ep.Client, EchoReply, _ep.IcmpId, 84),
        _ => null,
    };

    private byte EchoRequest => _ep.Client.IsIPv4 ? IcmpTypes.EchoRequestV4 : IcmpTypes.EchoRequestV6;
    private byte EchoReply => _ep.Client.IsIPv4 ? IcmpTypes.EchoReplyV4 : IcmpTypes.EchoReplyV6;

    private bool MoreData(long now) => EndsAt != 0 ? now < EndsAt : _dataRemaining > 0;

    /// <summary>The flow's next packet at <paramref name="now"/>; afterwards <see cref="IsDone"/> may be true.</summary>
    public PacketHeader Next(Random random, long now)
    {
        if (FirstPacketAt == 0)
            FirstPacketAt = now;
        if (Intent == FlowIntent.OutOfState)
        {
            _stage = Stage.Done;
            return ClientTcp(TcpFlags.Ack | TcpFlags.Psh, random.Next(52, 1500));
        }
        if (Intent == FlowIntent.PolicyDropped)
        {
            if (_repeats-- <= 0)
                _stage = Stage.Done;
            return _ep.Kind == FlowKind.Tcp ? ClientTcp(TcpFlags.Syn, 60) : ClientUdp(random.Next(60, 200));
        }
        return _ep.Kind switch
        {
            FlowKind.Tcp => NextTcp(random, now),
            FlowKind.Udp => NextPair(random, now, static (f, r) => f.ClientUdp(r.Next(60, 512)), static (f, r) => f.ServerUdp(r.Next(80, 1500))),
            FlowKind.IcmpEcho => NextPair(random, now,
                static (f, _) => PacketHeader.Icmp(f._ep.Client, f._ep.Server, f.EchoRequest, f._ep.IcmpId, 84),
                static (f, _) => PacketHeader.Icmp(f._ep.Server, f._ep.Client, f.EchoReply, f._ep.IcmpId, 84)),
            _ => NextPair(random, now,
                static (f, r) => PacketHeader.OtherIp(f._ep.Protocol, f._ep.Client, f._ep.Server, r.Next(60, 1500)),
                static (f, r) => PacketHeader.OtherIp(f._ep.Protocol, f._ep.Server, f._ep.Client, r.Next(60, 1500))),
        };
    }

    // Pseudo-sessions: request, reply, request, reply … A request opens; the first reply establishes.
    private PacketHeader NextPair(Random random, long now, Func<LiveFlow, Random, PacketHeader> request, Func<LiveFlow, Random, PacketHeader> reply)
    {
        if (_stage == Stage.Open)
        {
            _stage = Stage.OpenReply;
            return request(this, random);
        }
        // OpenReply: the reply; then another round or done.
        if (EstablishedAt == 0)
            EstablishedAt = now;
        _dataRemaining--;
        _stage = MoreData(now) ? Stage.Open : Stage.Done;
        return reply(this, random);
    }

    private PacketHeader NextTcp(Random random, long now)
    {
        switch (_stage)
        {
            case Stage.Open:
                _stage = Stage.OpenReply;
                return ClientTcp(TcpFlags.Syn, 60);
            case Stage.OpenReply:
                _stage = Stage.HandshakeAck;
                return ServerTcp(TcpFlags.Syn | TcpFlags.Ack, 60);
            case Stage.HandshakeAck:
                _stage = Stage.Data;
                EstablishedAt = now;
                return ClientTcp(TcpFlags.Ack, 52);
            case Stage.Data:
                if (!MoreData(now))
                {
                    _stage = EndWithRst ? Stage.Rst : Stage.FinClient;
                    return NextTcp(random, now);
                }
                _dataRemaining--;
                // Downloads dominate: two segments of three come from the server.
                var flags = random.Next(4) == 0 ? TcpFlags.Ack : TcpFlags.Psh | TcpFlags.Ack;
                var size = random.Next(3) == 0 ? random.Next(40, 200) : random.Next(200, 1501);
                return random.Next(3) == 0 ? ClientTcp(flags, size) : ServerTcp(flags, size);
            case Stage.FinClient:
                _stage = Stage.FinAckServer;
                return ClientTcp(TcpFlags.Fin | TcpFlags.Ack, 52);
            case Stage.FinAckServer:
                _stage = Stage.FinServer;
                return ServerTcp(TcpFlags.Ack, 52);
            case Stage.FinServer:
                _stage = Stage.FinAckClient;
                return ServerTcp(TcpFlags.Fin | TcpFlags.Ack, 52);
            case Stage.FinAckClient:
                _stage = Stage.Done;
                return ClientTcp(TcpFlags.Ack, 52);
            case Stage.Rst:
                _stage = Stage.Done;
                return random.Next(2) == 0 ? ClientTcp(TcpFlags.Rst | TcpFlags.Ack, 40) : ServerTcp(TcpFlags.Rst | TcpFlags.Ack, 40);
            default:
                throw new InvalidOperationException($"flow {Id} is done");
        }
    }

    private PacketHeader ClientTcp(TcpFlags flags, int size) => PacketHeader.Tcp(_ep.Client, _ep.ClientPort, _ep.Server, _ep.ServerPort, flags, size);
    private PacketHeader ServerTcp(TcpFlags flags, int size) => PacketHeader.Tcp(_ep.Server, _ep.ServerPort, _ep.Client, _ep.ClientPort, flags, size);
    private PacketHeader ClientUdp(int size) => PacketHeader.Udp(_ep.Client, _ep.ClientPort, _ep.Server, _ep.ServerPort, size);
    private PacketHeader ServerUdp(int size) => PacketHeader.Udp(_ep.Server, _ep.ServerPort, _ep.Client, _ep.ClientPort, size);
}
