using VslsActors.Domain;
using VslsActors.Domain.Flows;

namespace VslsActors.Traffic;

/// <summary>
/// One packet record as it enters the cluster: the domain's <see cref="TimedPacket"/> (UTC-ticks
/// timestamp and header) plus the virtual system it belongs to. The generator knows the VS of every
/// flow it makes; records from elsewhere (pcap, ingress) get it from <c>TrafficClassifier</c>.
/// </summary>
public readonly record struct TrafficPacket(VsId Vs, TimedPacket Packet);

/// <summary>The packets of one <see cref="TrafficGenerator.NextBatch"/> call, grouped per VS, each VS's packets in flow order.</summary>
public sealed class TrafficBatch
{
    /// <summary>Creates a batch.</summary>
    public TrafficBatch(IReadOnlyDictionary<VsId, TimedPacket[]> perVs, int count)
    {
        PerVs = perVs;
        Count = count;
    }

    /// <summary>Packets per VS; within one VS the packets of every flow keep their order.</summary>
    public IReadOnlyDictionary<VsId, TimedPacket[]> PerVs { get; }

    /// <summary>Total packets in the batch.</summary>
    public int Count { get; }

    /// <summary>All packets as records (for tests and pcap-like consumers), VS by VS.</summary>
    public IEnumerable<TrafficPacket> Records()
    {
        foreach (var (vs, packets) in PerVs)
        {
            foreach (var p in packets)
                yield return new TrafficPacket(vs, p);
        }
    }
}
