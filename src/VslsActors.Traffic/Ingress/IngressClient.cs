using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using VslsActors.Domain;
using VslsActors.Traffic.Ingress.Grpc;

namespace VslsActors.Traffic.Ingress;

/// <summary>What the member said about one batch, or that it never said anything.</summary>
/// <param name="BatchId">The batch's id on its stream.</param>
/// <param name="Records">Records in the batch.</param>
/// <param name="Accepted">Accepted by their VS.</param>
/// <param name="PolicyDropped">Dropped by a policy rule.</param>
/// <param name="Rejected">Rejected by a policy rule.</param>
/// <param name="OutOfState">Dropped by connection tracking.</param>
/// <param name="OverLimit">Refused by a VS limit or by its member's overload shedding, every kind (the parts below, the rest a full connection table).</param>
/// <param name="UnknownVs">Addressed to no configured VS.</param>
/// <param name="Unanswered">Routed by the member, but their VS gave no verdict in time.</param>
/// <param name="Lost">Sent, but the member's stream ended before it answered (the member died or went away): all <paramref name="Records"/>, or 0.</param>
/// <param name="Error">The member's fault line for a malformed batch (then nothing of it was processed), else null.</param>
/// <param name="Target">The <c>host:port</c> the batch went to.</param>
/// <param name="OverPacketRate">The part of <paramref name="OverLimit"/> over a VS's packets/s limit.</param>
/// <param name="OverNewConnectionRate">The part of <paramref name="OverLimit"/> over a VS's new-connections/s limit.</param>
/// <param name="Overload">The part of <paramref name="OverLimit"/> shed because the member was overloaded.</param>
public sealed record IngressBatchResult(
    ulong BatchId,
    int Records,
    long Accepted,
    long PolicyDropped,
    long Rejected,
    long OutOfState,
    long OverLimit,
    long UnknownVs,
    long Unanswered,
    long Lost,
    string? Error,
    string Target,
    long OverPacketRate = 0,
    long OverNewConnectionRate = 0,
    long Overload = 0)
{
    /// <summary>The part of <see cref="OverLimit"/> refused because a VS's connection table was full.</summary>
    public long OverConnectionLimit => OverLimit - OverPacketRate - OverNewConnectionRate - Overload;
}

/// <summary>No target of an <see cref="IngressClient"/> could take a batch.</summary>
public sealed class IngressUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A client of the member ingress (<c>docs/ingress.md</c>): one HTTP/2 connection and one <c>Send</c>
/// stream to one member at a time, with failover to the next of its targets.
/// <list type="bullet">
/// <item><see cref="SendAsync(ReadOnlyMemory{TrafficPacket}, CancellationToken)"/> may be called again before earlier calls
/// complete (pipelining); the member bounds how many batches it holds, and HTTP/2 flow control holds the
/// writes of a caller that runs ahead of it.</item>
/// <item>When the stream breaks (the member died, stopped, or refused the connection), every batch
/// still waiting completes with <see cref="IngressBatchResult.Lost"/> = its record count, and the next
/// send opens a stream to the next target (round robin). A batch whose write failed was not sent and
/// is tried on the next target; after every target failed once in a row, the send throws
/// <see cref="IngressUnavailableException"/>.</item>
/// </list>
/// Thread-safe.
/// </summary>
public sealed class IngressClient : IAsyncDisposable
{
    private readonly string[] _targets;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private int _targetIndex;
    private Connection? _connection;
    private long _nextBatchId;
    private long _failovers;
    private bool _disposed;

    private IngressClient(string[] targets, int firstTarget)
    {
        _targets = targets;
        _targetIndex = firstTarget;
    }

    /// <summary>
    /// A client for <paramref name="targets"/> (<c>host:port</c>, tried in this order starting at
    /// <paramref name="firstTarget"/>), with its first stream open.
    /// </summary>
    /// <exception cref="ArgumentException">No target, or a target that is not <c>host:port</c>.</exception>
    /// <exception cref="IngressUnavailableException">No target accepted a stream.</exception>
    public static async Task<IngressClient> ConnectAsync(IReadOnlyList<string> targets, int firstTarget = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(targets);
        if (targets.Count == 0)
            throw new ArgumentException("no ingress target given (host:port[,host:port...])", nameof(targets));
        foreach (var t in targets)
            _ = ParseTarget(t);
        var client = new IngressClient([.. targets], Math.Abs(firstTarget) % targets.Count);
        await client._writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await client.OpenAnyAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            client._writeGate.Release();
        }
        return client;
    }

    /// <summary>Parses <c>host:port</c> (IPv6 as <c>[::1]:port</c>) into the URI a channel uses.</summary>
    /// <exception cref="ArgumentException">It is not of that form.</exception>
    public static Uri ParseTarget(string target)
    {
        var colon = target.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(target.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535
            || !Uri.TryCreate($"http://{target}", UriKind.Absolute, out var uri))
            throw new ArgumentException($"'{target}' is not an ingress target (host:port with a port 1-65535)");
        return uri;
    }

    /// <summary>The target the current stream goes to.</summary>
    public string CurrentTarget => _targets[Volatile.Read(ref _targetIndex)];

    /// <summary>How many times the client moved to another target.</summary>
    public long Failovers => Interlocked.Read(ref _failovers);

    /// <summary>Sends <paramref name="packets"/> as one batch, each record addressed by its VS id.</summary>
    public Task<IngressBatchResult> SendAsync(ReadOnlyMemory<TrafficPacket> packets, CancellationToken cancellationToken = default) =>
        SendRecordsAsync(PacketRecordCodec.Encode(packets.Span), cancellationToken);

    /// <summary>Sends already encoded records (see <see cref="PacketRecordCodec"/>) as one batch; the bytes are sent as given.</summary>
    /// <exception cref="IngressUnavailableException">Every target failed to take the batch.</exception>
    public async Task<IngressBatchResult> SendRecordsAsync(ReadOnlyMemory<byte> records, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var count = records.Length / PacketRecordCodec.RecordSize;
        var request = new PacketBatch { BatchId = (ulong)Interlocked.Increment(ref _nextBatchId), Records = UnsafeByteOperations.UnsafeWrap(records) };
        Exception? last = null;
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        Task<IngressBatchResult> answer;
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                if (attempt > _targets.Length)
                    throw new IngressUnavailableException($"no ingress target takes batches ({string.Join(", ", _targets)}): {last?.Message}", last);
                var c = _connection;
                if (c is null || c.Broken)
                {
                    if (c is not null)
                    {
                        await c.DisposeAsync().ConfigureAwait(false);
                        _connection = null;
                        MoveToNextTarget();
                    }
                    await OpenAnyAsync(cancellationToken).ConfigureAwait(false);
                    c = _connection!;
                }
                var pending = c.Register(request.BatchId, count);
                try
                {
                    await c.Call.RequestStream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
                    answer = pending;
                    break;
                }
                catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or HttpRequestException)
                {
                    // Not written: the batch was never sent, so it is tried on the next target rather than counted lost.
                    c.Unregister(request.BatchId);
                    c.MarkBroken();
                    last = e;
                }
            }
        }
        finally
        {
            _writeGate.Release();
        }
        return await answer.ConfigureAwait(false);
    }

    /// <summary>
    /// The connection table of <paramref name="vs"/> as JSON lines (docs/connection-table.md), at most
    /// <paramref name="limit"/> of them, from the current target (which asks the VS wherever it runs).
    /// </summary>
    public async IAsyncEnumerable<string> ListConnectionsAsync(VsId vs, int limit, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = GrpcChannel.ForAddress(ParseTarget(CurrentTarget));
        try
        {
            var client = new Grpc.Ingress.IngressClient(channel);
            using var call = client.ListConnections(new ListConnectionsRequest { Vs = (uint)vs.Value, Limit = (uint)Math.Max(0, limit) }, cancellationToken: cancellationToken);
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var text = chunk.JsonLines.ToString(Encoding.UTF8);
                foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    yield return line;
            }
        }
        finally
        {
            channel.Dispose();
        }
    }

    private void MoveToNextTarget()
    {
        Volatile.Write(ref _targetIndex, (_targetIndex + 1) % _targets.Length);
        Interlocked.Increment(ref _failovers);
    }

    private async Task OpenAnyAsync(CancellationToken cancellationToken)
    {
        Exception? last = null;
        for (var i = 0; i < _targets.Length; i++)
        {
            try
            {
                _connection = await Connection.OpenAsync(_targets[_targetIndex], cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException)
            {
                last = e;
                MoveToNextTarget();
            }
        }
        throw new IngressUnavailableException($"no ingress target answers ({string.Join(", ", _targets)}): {last?.Message}", last);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_connection is { } c)
            await c.CloseAsync().ConfigureAwait(false);
    }

    /// <summary>One channel and its <c>Send</c> stream; the batches written on it wait here for their answers.</summary>
    private sealed class Connection : IAsyncDisposable
    {
        private readonly GrpcChannel _channel;
        private readonly ConcurrentDictionary<ulong, (int Records, TaskCompletionSource<IngressBatchResult> Tcs)> _pending = new();
        private readonly Task _reader;
        private readonly CancellationTokenSource _stop = new();
        private volatile bool _broken;

        private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

        private Connection(string target, GrpcChannel channel, AsyncDuplexStreamingCall<PacketBatch, BatchVerdicts> call)
        {
            Target = target;
            _channel = channel;
            Call = call;
            _reader = Task.Run(ReadAsync);
        }

        public string Target { get; }

        public AsyncDuplexStreamingCall<PacketBatch, BatchVerdicts> Call { get; }

        public bool Broken => _broken;

        public static async Task<Connection> OpenAsync(string target, CancellationToken cancellationToken)
        {
            var channel = GrpcChannel.ForAddress(ParseTarget(target), new GrpcChannelOptions
            {
                // Batches of up to 65,536 records (4 MiB) plus framing.
                MaxSendMessageSize = 8 * 1024 * 1024,
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = false, ConnectTimeout = ConnectTimeout },
            });
            // Connect eagerly, so a dead target is found here and not on the first write. A channel
            // retries a refused connection with back-off forever, so the wait is bounded here.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ConnectTimeout);
            try
            {
                await channel.ConnectAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                channel.Dispose();
                throw new IOException($"{target} did not accept an HTTP/2 connection within {ConnectTimeout.TotalSeconds:0} s");
            }
            catch (Exception)
            {
                channel.Dispose();
                throw;
            }
            var call = new Grpc.Ingress.IngressClient(channel).Send(cancellationToken: CancellationToken.None);
            return new Connection(target, channel, call);
        }

        public Task<IngressBatchResult> Register(ulong batchId, int records)
        {
            var tcs = new TaskCompletionSource<IngressBatchResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[batchId] = (records, tcs);
            if (_broken)
                FailPending();
            return tcs.Task;
        }

        public void Unregister(ulong batchId) => _pending.TryRemove(batchId, out _);

        public void MarkBroken()
        {
            _broken = true;
            FailPending();
        }

        private async Task ReadAsync()
        {
            try
            {
                await foreach (var v in Call.ResponseStream.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                {
                    if (_pending.TryRemove(v.BatchId, out var p))
                    {
                        p.Tcs.TrySetResult(new IngressBatchResult(v.BatchId, p.Records, (long)v.Accepted, (long)v.PolicyDropped, (long)v.Rejected,
                            (long)v.OutOfState, (long)v.OverLimit, (long)v.UnknownVs, (long)v.Unanswered, 0,
                            string.IsNullOrEmpty(v.Error) ? null : v.Error, Target,
                            (long)v.OverLimitPacketRate, (long)v.OverLimitNewConnectionRate, (long)v.OverLimitOverload));
                    }
                }
            }
            catch (Exception)
            {
                // The stream broke (member gone, connection reset, or closed by us): whatever is pending is lost.
            }
            MarkBroken();
        }

        private void FailPending()
        {
            foreach (var id in _pending.Keys)
            {
                if (_pending.TryRemove(id, out var p))
                    p.Tcs.TrySetResult(new IngressBatchResult(id, p.Records, 0, 0, 0, 0, 0, 0, 0, p.Records, null, Target));
            }
        }

        public async Task CloseAsync()
        {
            try
            {
                await Call.RequestStream.CompleteAsync().ConfigureAwait(false);
                await _reader.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RpcException or IOException or InvalidOperationException or TimeoutException)
            {
                // Closing a broken stream: nothing left to tell.
            }
            await DisposeAsync().ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            _broken = true;
            await _stop.CancelAsync().ConfigureAwait(false);
            Call.Dispose();
            try
            {
                await _reader.ConfigureAwait(false);
            }
            finally
            {
                FailPending();
                _channel.Dispose();
                _stop.Dispose();
            }
        }
    }
}
