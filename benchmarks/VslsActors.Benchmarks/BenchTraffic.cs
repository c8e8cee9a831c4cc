using Akka.Actor;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Benchmarks;

/// <summary>
/// The traffic the member benchmarks (established-, isolation- and overload-bench) share: connection
/// <c>c</c> of lane <c>v</c> is client <c>10.0.0.0 + (v &lt;&lt; 16) + c</c> port 40000 to
/// <see cref="Server"/> port 443; client segments are 500 bytes, server segments 1,500.
/// </summary>
internal static class BenchTraffic
{
    /// <summary>The server every connection goes to.</summary>
    public static readonly NetAddress Server = NetAddress.Parse("192.168.1.10");

    /// <summary>Client address of connection <paramref name="c"/> of lane <paramref name="v"/>.</summary>
    public static NetAddress Client(int v, int c) => NetAddress.FromIPv4(0x0A000000u + (uint)(v << 16) + (uint)c);

    /// <summary>A client-to-server segment (<paramref name="port"/>: the client port, for fresh keys).</summary>
    public static PacketHeader FromClient(int v, int c, TcpFlags flags, ushort port = 40000) => PacketHeader.Tcp(Client(v, c), port, Server, 443, flags, 500);

    /// <summary>A server-to-client segment.</summary>
    public static PacketHeader FromServer(int v, int c, TcpFlags flags) => PacketHeader.Tcp(Server, 443, Client(v, c), 40000, flags, 1500);

    /// <summary>
    /// Opens <paramref name="connections"/> connections of lane <paramref name="v"/> in VS <paramref name="vs"/>:
    /// SYN, SYN-ACK, ACK, one batch per step, each waited for.
    /// </summary>
    /// <exception cref="InvalidOperationException">A step was not accepted in full.</exception>
    public static void Handshakes(IActorRef region, VsId vs, int v, int connections, long now)
    {
        foreach (var step in new Func<int, PacketHeader>[] { c => FromClient(v, c, TcpFlags.Syn), c => FromServer(v, c, TcpFlags.Syn | TcpFlags.Ack), c => FromClient(v, c, TcpFlags.Ack) })
        {
            var packets = new TimedPacket[connections];
            for (var c = 0; c < connections; c++)
                packets[c] = new TimedPacket(now, step(c));
            var verdicts = region.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(vs, packets), TimeSpan.FromMinutes(1)).Result;
            if (verdicts.Counts.Accepted != connections)
                throw new InvalidOperationException($"VS {vs}: handshake step accepted {verdicts.Counts.Accepted} of {connections}");
        }
    }

    /// <summary>The machine's 1-, 5- and 15-minute load averages, or "n/a" where /proc has none.</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }
}
