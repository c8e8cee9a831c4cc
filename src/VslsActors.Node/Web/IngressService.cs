using System.Buffers;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using VslsActors.Cluster.Export;
using VslsActors.Cluster.Protocol;
using VslsActors.Traffic.Ingress;
using VslsActors.Domain;
using VslsActors.Traffic.Ingress.Grpc;
using IngressContract = VslsActors.Traffic.Ingress.Grpc.Ingress;

namespace VslsActors.Node.Web;

/// <summary>
/// The gRPC ingress service of a member (contract: <c>src/VslsActors.Traffic/Ingress/ingress.proto</c>,
/// docs/ingress.md).
/// <list type="bullet">
/// <item><c>Send</c>: each stream has at most <see cref="IngressOptions.MaxInFlight"/> batches on the
/// member; the next request is read only when one is answered, so a sender that outruns the cluster is
/// held by HTTP/2 flow control instead of growing the member's memory. Answers go out in batch order.</item>
/// <item>A malformed batch gets an answer whose <c>error</c> names the fault; the stream goes on, and other
/// streams never notice.</item>
/// <item><c>ListConnections</c>: the VS's table (through the shard region) as JSON lines of
/// <see cref="ConnectionTableJson"/>, in chunks of about 64 KiB.</item>
/// </list>
/// </summary>
public sealed class IngressService(IngressHostContext context, ILogger<IngressService> logger) : IngressContract.IngressBase
{
    private const int ChunkBytes = 64 * 1024;

    /// <inheritdoc />
    public override async Task Send(IAsyncStreamReader<PacketBatch> requestStream, IServerStreamWriter<BatchVerdicts> responseStream, ServerCallContext callContext)
    {
        var router = await context.RouterAsync(callContext.CancellationToken).ConfigureAwait(false);
        var options = context.Options;
        var member = context.Member;
        using var slots = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);
        // Answers in batch order: the reader queues each batch's routing task, one writer awaits them in turn.
        var queue = System.Threading.Channels.Channel.CreateUnbounded<(ulong Id, Task<RoutedBatch> Routed)>(
            new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var ct = callContext.CancellationToken;
        var mine = 0; // this stream's batches on the member, so an aborted stream gives its share of the gauge back
        var writer = Task.Run(async () =>
        {
            await foreach (var (id, routed) in queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                RoutedBatch r;
                try
                {
                    r = await routed.ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A failure inside the cluster (not the client's fault): say so for this batch and carry on.
                    logger.LogWarning("ingress batch {BatchId} failed: {Error}", id, e.Message);
                    r = new RoutedBatch(VerdictCounts.Zero, 0, $"member {member} could not route the batch: {NodePreflight.OneLine(e)}");
                }
                await responseStream.WriteAsync(ToReply(id, r, member), ct).ConfigureAwait(false);
                Interlocked.Decrement(ref mine);
                Interlocked.Decrement(ref context.InFlightCounter);
                slots.Release();
            }
        }, ct);
        try
        {
            while (true)
            {
                await slots.WaitAsync(ct).ConfigureAwait(false);
                if (!await requestStream.MoveNext(ct).ConfigureAwait(false))
                    break;
                var batch = requestStream.Current;
                Interlocked.Increment(ref mine);
                Interlocked.Increment(ref context.InFlightCounter);
                context.ObserveInFlight();
                var records = batch.Records.Memory;
                var routed = records.Length > IngressOptions.MaxBatchRecords * PacketRecordCodec.RecordSize
                    ? Task.FromResult(new RoutedBatch(VerdictCounts.Zero, 0,
                        $"batch has {records.Length / PacketRecordCodec.RecordSize} records, more than the {IngressOptions.MaxBatchRecords} a batch may hold"))
                    : router.RouteAsync(records, ct);
                queue.Writer.TryWrite((batch.BatchId, routed));
            }
            queue.Writer.TryComplete();
            await writer.ConfigureAwait(false);
        }
        finally
        {
            queue.Writer.TryComplete();
            // After an aborted stream the writer stops on the cancelled token; wait for it (without its
            // exception, which the read side already reports) so the count below is final.
            await writer.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            // Normally 0; after an aborted stream, the batches that were never answered.
            Interlocked.Add(ref context.InFlightCounter, -Interlocked.Exchange(ref mine, 0));
        }
    }

    private static BatchVerdicts ToReply(ulong id, RoutedBatch r, string member) => new()
    {
        BatchId = id,
        Accepted = (ulong)r.Counts.Accepted,
        PolicyDropped = (ulong)r.Counts.PolicyDropped,
        Rejected = (ulong)r.Counts.Rejected,
        OutOfState = (ulong)r.Counts.OutOfState,
        OverLimit = (ulong)r.Counts.OverLimit,
        OverLimitPacketRate = (ulong)r.Counts.OverPacketRate,
        OverLimitNewConnectionRate = (ulong)r.Counts.OverNewConnectionRate,
        OverLimitOverload = (ulong)r.Counts.Overload,
        UnknownVs = (ulong)r.Counts.UnknownVs,
        Unanswered = (ulong)r.Unanswered,
        Error = r.Error ?? "",
        Member = member,
    };

    /// <inheritdoc />
    public override async Task ListConnections(ListConnectionsRequest request, IServerStreamWriter<ConnectionChunk> responseStream, ServerCallContext callContext)
    {
        if (request.Vs is 0 or > int.MaxValue)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"vs {request.Vs} is not a VS id (>= 1)"));
        var vs = new VsId((int)request.Vs);
        if (!context.Topology.VirtualSystems.Any(v => v.Id == vs))
            throw new RpcException(new Status(StatusCode.NotFound, $"virtual system {vs} is not configured"));
        var limit = request.Limit == 0 ? context.Options.DefaultListLimit : (int)Math.Min(request.Limit, int.MaxValue);
        var gateway = await context.GatewayAsync(callContext.CancellationToken).ConfigureAwait(false);
        VirtualSystemReplies.Connections table;
        try
        {
            table = await gateway.ListConnectionsAsync(vs, limit, callContext.CancellationToken).ConfigureAwait(false);
        }
        catch (Akka.Actor.AskTimeoutException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"virtual system {vs} did not answer within {context.Options.AskTimeout.TotalSeconds:0} s"));
        }
        var buffer = new ArrayBufferWriter<byte>(ChunkBytes + 1024);
        await using var json = new Utf8JsonWriter(buffer);
        var sent = false;
        foreach (var row in table.Items)
        {
            ConnectionTableJson.Write(json, vs, row);
            json.Flush();
            json.Reset(buffer);
            buffer.Write("\n"u8);
            if (buffer.WrittenCount >= ChunkBytes)
            {
                await responseStream.WriteAsync(new ConnectionChunk { JsonLines = ByteString.CopyFrom(buffer.WrittenSpan), Total = (uint)table.Total }, callContext.CancellationToken).ConfigureAwait(false);
                buffer.Clear();
                sent = true;
            }
        }
        if (buffer.WrittenCount > 0 || !sent)
            await responseStream.WriteAsync(new ConnectionChunk { JsonLines = ByteString.CopyFrom(buffer.WrittenSpan), Total = (uint)table.Total }, callContext.CancellationToken).ConfigureAwait(false);
    }
}
