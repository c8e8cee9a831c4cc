using BenchmarkDotNet.Attributes;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Benchmarks;

/// <summary>
/// Connection state machine per packet: <see cref="ConnectionStateMachine.Step"/> on established
/// TCP connections (the common case), against a baseline that only adds to the counters, and a
/// whole TCP conversation (handshake, data, close) that exercises the slower transitions.
/// Figures are per packet (<c>OperationsPerInvoke</c>).
/// </summary>
[MemoryDiagnoser]
public class ConnectionBenchmarks
{
    private const int Count = 4096;
    private static readonly long T0 = new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;

    private ConnectionState[] _states = [];
    private PacketHeader[] _packets = [];
    private FlowDirection[] _directions = [];

    // One full conversation per connection for the lifecycle benchmark.
    private const int ConversationLength = 10;
    private PacketHeader[] _conversation = [];
    private FlowDirection[] _conversationDirections = [];
    private ConnectionState[] _lifecycleStates = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        var client = NetAddress.FromIPv4(0x0A00_0001);
        var server = NetAddress.FromIPv4(0xC0A8_010A);
        _states = new ConnectionState[Count];
        _packets = new PacketHeader[Count];
        _directions = new FlowDirection[Count];
        for (int i = 0; i < Count; i++)
        {
            var s = ConnectionStateMachine.Open(PacketHeader.Tcp(client, 40000, server, 443, TcpFlags.Syn, 60), T0);
            ConnectionStateMachine.Step(ref s, PacketHeader.Tcp(server, 443, client, 40000, TcpFlags.Syn | TcpFlags.Ack, 60), FlowDirection.Reply, T0);
            ConnectionStateMachine.Step(ref s, PacketHeader.Tcp(client, 40000, server, 443, TcpFlags.Ack, 52), FlowDirection.Original, T0);
            _states[i] = s;
            bool fromClient = random.Next(2) == 0;
            _directions[i] = fromClient ? FlowDirection.Original : FlowDirection.Reply;
            var flags = random.Next(2) == 0 ? TcpFlags.Ack : TcpFlags.Ack | TcpFlags.Psh;
            _packets[i] = fromClient
                ? PacketHeader.Tcp(client, 40000, server, 443, flags, random.Next(52, 1500))
                : PacketHeader.Tcp(server, 443, client, 40000, flags, random.Next(52, 1500));
        }

        PacketHeader C(TcpFlags f, int l) => PacketHeader.Tcp(client, 40000, server, 443, f, l);
        PacketHeader S(TcpFlags f, int l) => PacketHeader.Tcp(server, 443, client, 40000, f, l);
        _conversation =
        [
            C(TcpFlags.Syn, 60), S(TcpFlags.Syn | TcpFlags.Ack, 60), C(TcpFlags.Ack, 52),
            C(TcpFlags.Psh | TcpFlags.Ack, 500), S(TcpFlags.Ack, 52), S(TcpFlags.Psh | TcpFlags.Ack, 1500), C(TcpFlags.Ack, 52),
            C(TcpFlags.Fin | TcpFlags.Ack, 52), S(TcpFlags.Fin | TcpFlags.Ack, 52), C(TcpFlags.Ack, 52),
        ];
        _conversationDirections = new FlowDirection[ConversationLength];
        for (int i = 0; i < ConversationLength; i++)
            _conversationDirections[i] = _conversation[i].Source == client ? FlowDirection.Original : FlowDirection.Reply;
        _lifecycleStates = new ConnectionState[Count];
    }

    /// <summary>Baseline: the counter updates alone, no state machine.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Count)]
    public long CountersOnly()
    {
        var states = _states;
        var packets = _packets;
        var directions = _directions;
        long ts = T0 + 1;
        for (int i = 0; i < states.Length; i++)
        {
            ref var s = ref states[i];
            if (directions[i] == FlowDirection.Original)
            {
                s.OrigPackets++;
                s.OrigBytes += packets[i].IpLength;
            }
            else
            {
                s.RespPackets++;
                s.RespBytes += packets[i].IpLength;
            }
            if (ts > s.LastSeen)
                s.LastSeen = ts;
        }
        return states[0].OrigPackets;
    }

    /// <summary>Step with ACK/data segments on established connections.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public int StepEstablished()
    {
        var states = _states;
        var packets = _packets;
        var directions = _directions;
        long ts = T0 + 1;
        int accepted = 0;
        for (int i = 0; i < states.Length; i++)
        {
            if (ConnectionStateMachine.Step(ref states[i], packets[i], directions[i], ts).Accepted)
                accepted++;
        }
        return accepted;
    }

    /// <summary>
    /// Open plus nine steps per connection (handshake, data, both FINs, last ACK): every
    /// transition of a normal TCP life. Per packet.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Count * ConversationLength)]
    public int FullTcpLifecycle()
    {
        var states = _lifecycleStates;
        var conversation = _conversation;
        var directions = _conversationDirections;
        int transitions = 0;
        for (int i = 0; i < states.Length; i++)
        {
            ref var s = ref states[i];
            s = ConnectionStateMachine.Open(conversation[0], T0);
            for (int k = 1; k < conversation.Length; k++)
            {
                if (ConnectionStateMachine.Step(ref s, conversation[k], directions[k], T0 + k).Transition != LifecycleTransition.None)
                    transitions++;
            }
        }
        return transitions;
    }
}
