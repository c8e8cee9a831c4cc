using System.Buffers;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Topology;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Node.Web;

/// <summary>The outcome of one routed batch (the fields of the ingress <c>BatchVerdicts</c>).</summary>
/// <param name="Counts">Verdicts summed over the batch's VSs, with <see cref="VerdictCounts.UnknownVs"/> counted here.</param>
/// <param name="Unanswered">Records whose VS gave no verdict in time.</param>
/// <param name="Error">The fault of a malformed batch (then nothing was routed), else null.</param>
public sealed record RoutedBatch(VerdictCounts Counts, long Unanswered, string? Error);

/// <summary>
/// The member side of ingress without the network: decodes a batch of records, finds each record's VS
/// (VS id → must be configured; VLAN or no selector → <see cref="TrafficClassifier"/> by VLAN, then
/// destination subnet), sends one <c>ProcessPackets</c> per VS, and sums the verdicts. The gRPC service
/// and the in-process benchmark call the same <see cref="RouteAsync"/>. Thread-safe.
/// </summary>
public sealed class IngressRouter
{
    private readonly IVirtualSystemGateway _gateway;
    private readonly TrafficClassifier _classifier;
    private readonly HashSet<VsId> _configured;

    /// <summary>A router over <paramref name="topology"/>'s VSs.</summary>
    public IngressRouter(Topology topology, IVirtualSystemGateway gateway)
    {
        ArgumentNullException.ThrowIfNull(topology);
        _gateway = gateway;
        _classifier = new TrafficClassifier(topology);
        _configured = [.. topology.VirtualSystems.Select(v => v.Id)];
    }

    /// <summary>Routes <paramref name="records"/> (whole 64-byte records) and sums the verdicts.</summary>
    public async Task<RoutedBatch> RouteAsync(ReadOnlyMemory<byte> records, CancellationToken cancellationToken)
    {
        if (!Group(records.Span, out var perVs, out var unknown, out var fault))
            return new RoutedBatch(VerdictCounts.Zero, 0, fault);
        var counts = new VerdictCounts(0, 0, 0, 0, 0, unknown);
        long unanswered = 0;
        if (perVs.Count == 1)
        {
            // The common case of a sender that batches per VS: no task array.
            foreach (var (vs, packets) in perVs)
            {
                var c = await _gateway.ProcessAsync(vs, packets, cancellationToken).ConfigureAwait(false);
                return c is null ? new RoutedBatch(counts, packets.Length, null) : new RoutedBatch(counts.Add(c), 0, null);
            }
        }
        var tasks = new Task<VerdictCounts?>[perVs.Count];
        var sizes = new int[perVs.Count];
        var i = 0;
        foreach (var (vs, list) in perVs)
        {
            sizes[i] = list.Length;
            tasks[i++] = _gateway.ProcessAsync(vs, list, cancellationToken);
        }
        for (i = 0; i < tasks.Length; i++)
        {
            var c = await tasks[i].ConfigureAwait(false);
            if (c is null)
                unanswered += sizes[i];
            else
                counts = counts.Add(c);
        }
        return new RoutedBatch(counts, unanswered, null);
    }

    private bool Group(ReadOnlySpan<byte> records, out Dictionary<VsId, TimedPacket[]> perVs, out long unknown, out string? fault)
    {
        perVs = [];
        unknown = 0;
        if (!PacketRecordCodec.TryCount(records, out var count, out fault))
            return false;
        // Two passes over pooled scratch arrays: decode and classify everything first (a malformed batch
        // is refused whole, so a client never has to work out which part of a batch was processed), then
        // copy each VS's packets into an array of exactly its size (the message needs its own array).
        var packets = ArrayPool<TimedPacket>.Shared.Rent(count);
        var owners = ArrayPool<VsId>.Shared.Rent(count);
        try
        {
            var sizes = new Dictionary<VsId, int>();
            for (var i = 0; i < count; i++)
            {
                if (!PacketRecordCodec.TryRead(records, i, out var r, out fault))
                {
                    unknown = 0;
                    return false;
                }
                VsId vs;
                bool found;
                switch (r.Selector)
                {
                    case RecordSelector.VsId:
                        vs = new VsId(r.SelectorValue);
                        found = _configured.Contains(vs);
                        break;
                    case RecordSelector.Vlan:
                        found = _classifier.TryClassify(r.SelectorValue, r.Packet.Header.Destination, out vs);
                        break;
                    default:
                        found = _classifier.TryClassifyAddress(r.Packet.Header.Destination, out vs);
                        break;
                }
                packets[i] = r.Packet;
                owners[i] = found ? vs : default;
                if (!found)
                    unknown++;
                else
                    sizes[vs] = sizes.GetValueOrDefault(vs) + 1;
            }
            var fill = new Dictionary<VsId, int>(sizes.Count);
            foreach (var (vs, n) in sizes)
            {
                perVs[vs] = new TimedPacket[n];
                fill[vs] = 0;
            }
            for (var i = 0; i < count; i++)
            {
                var vs = owners[i];
                if (vs == default)
                    continue;
                var at = fill[vs];
                perVs[vs][at] = packets[i];
                fill[vs] = at + 1;
            }
            return true;
        }
        finally
        {
            ArrayPool<TimedPacket>.Shared.Return(packets);
            ArrayPool<VsId>.Shared.Return(owners);
        }
    }
}
