using VslsActors.Cluster.Export;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Topology;
using VslsActors.Traffic;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Cli.Replay;

/// <summary>
/// <c>vsls replay --target host:port[,…]</c>: sends the replay's batches to a running cluster through
/// a member's ingress (<see cref="IngressClient"/>, docs/ingress.md), each record addressed by its VS id
/// (the replay has already mapped packets to VSs), and reads the VSs' connection tables back through
/// the same member's export. If the member dies, the client moves to the next target; a batch that was
/// lost on the way makes the replay fail at the end, naming the VS (the table would be short).
/// </summary>
/// <remarks>
/// The VS ids must exist in the cluster's topology (the member counts others as unknown-VS, which also
/// fails the replay). The table read back is the VS's whole table: on a cluster that carries other
/// traffic too, it holds those connections as well.
/// </remarks>
public sealed class IngressReplaySink(IReadOnlyList<string> targets) : IReplaySink
{
    /// <summary>Batches in flight to the cluster at once (the member bounds its own share per stream too).</summary>
    public const int InFlight = 16;

    private readonly SemaphoreSlim _slots = new(InFlight, InFlight);
    private readonly Dictionary<VsId, VerdictCounts> _counts = new();
    private readonly Lock _gate = new();
    private IngressClient? _client;
    private string? _failure;

    /// <inheritdoc />
    public string Description => $"cluster ingress {string.Join(",", targets)}";

    /// <inheritdoc />
    public async Task StartAsync(IReadOnlyList<VirtualSystemConfig> virtualSystems, CancellationToken cancellationToken)
    {
        foreach (var vs in virtualSystems)
            _counts[vs.Id] = VerdictCounts.Zero;
        try
        {
            _client = await IngressClient.ConnectAsync(targets, 0, cancellationToken).ConfigureAwait(false);
        }
        catch (IngressUnavailableException e)
        {
            throw new ReplayException($"--target: {e.Message}");
        }
    }

    /// <inheritdoc />
    public async ValueTask SendAsync(VsId vs, TimedPacket[] packets, CancellationToken cancellationToken)
    {
        var client = _client ?? throw new InvalidOperationException("StartAsync first");
        if (_failure is { } failure)
            throw new ReplayException(failure);
        var records = new TrafficPacket[packets.Length];
        for (var i = 0; i < packets.Length; i++)
            records[i] = new TrafficPacket(vs, packets[i]);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        Task<IngressBatchResult> sent;
        try
        {
            sent = client.SendAsync(records, cancellationToken);
        }
        catch
        {
            _slots.Release();
            throw;
        }
        _ = sent.ContinueWith(t => Completed(vs, t), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Completed(VsId vs, Task<IngressBatchResult> t)
    {
        try
        {
            if (!t.IsCompletedSuccessfully)
            {
                Fail($"--target: a batch for VS {vs} was not sent: {(t.Exception?.InnerException ?? t.Exception)?.Message ?? "cancelled"}");
                return;
            }
            var r = t.Result;
            if (r.Error is { } error)
                Fail($"--target {r.Target} refused a batch for VS {vs}: {error}");
            else if (r.UnknownVs > 0)
                Fail($"--target {r.Target}: VS {vs} is not in the cluster's topology ({r.UnknownVs} packets counted unknown-VS)");
            else if (r.Lost > 0 || r.Unanswered > 0)
                Fail($"--target {r.Target}: {r.Lost + r.Unanswered} packets for VS {vs} got no verdict (member gone or VS not answering)");
            lock (_gate)
            {
                _counts[vs] = _counts[vs].Add(new VerdictCounts(r.Accepted, r.PolicyDropped, r.Rejected, r.OutOfState, r.OverLimit,
                    OverPacketRate: r.OverPacketRate, OverNewConnectionRate: r.OverNewConnectionRate, Overload: r.Overload));
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private void Fail(string message)
    {
        lock (_gate)
            _failure ??= message;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<VsId, VerdictCounts>> DrainAsync(CancellationToken cancellationToken)
    {
        // Taking every slot means every batch sent has been answered.
        for (var i = 0; i < InFlight; i++)
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        _slots.Release(InFlight);
        if (_failure is { } failure)
            throw new ReplayException(failure);
        lock (_gate)
            return _counts.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ConnectionRecord>> ListConnectionsAsync(VsId vs, CancellationToken cancellationToken)
    {
        var client = _client ?? throw new InvalidOperationException("StartAsync first");
        var records = new List<ConnectionRecord>();
        await foreach (var line in client.ListConnectionsAsync(vs, int.MaxValue, cancellationToken).ConfigureAwait(false))
        {
            if (!ConnectionTableJson.TryRead(line, out _, out var record, out _, out var problem))
                throw new ReplayException($"--target {client.CurrentTarget} sent a malformed connection-table line for VS {vs}: {problem}");
            records.Add(record!);
        }
        return records;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
            await _client.DisposeAsync().ConfigureAwait(false);
        _slots.Dispose();
    }
}
