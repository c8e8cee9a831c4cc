using System.Diagnostics.Metrics;
using VslsActors.Cluster.Overload;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Placement;

namespace VslsActors.Node.Web;

/// <summary>
/// The cluster's operating figures as OpenTelemetry instruments, exported for Prometheus on
/// <c>/metrics</c> of the API port (docs/management-api.md, <i>Metrics</i>). Every instrument is
/// observable: its values come from a <see cref="Sample"/> taken by <see cref="RefreshAsync"/> just
/// before each scrape (each VS's <c>Status</c>, the placement and the VS keeper's moves — the same reads
/// as <c>/vs</c> and <c>/ha</c>), so nothing is counted on the packet path.
/// </summary>
public sealed class ManagementMetrics : IDisposable
{
    /// <summary>The meter's name when it is the only one in the process (one member per process).</summary>
    public const string MeterBaseName = "VslsActors.Node";

    private static int s_instances;
    private readonly ManagementContext _context;
    private readonly Meter _meter;
    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private volatile Sample _sample = Sample.Empty;

    /// <summary>Instruments reading <paramref name="context"/>'s cluster, on a meter named <paramref name="meterName"/> (from <see cref="AllocateMeterName"/>).</summary>
    public ManagementMetrics(ManagementContext context, string meterName)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        MeterName = meterName;
        _meter = new Meter(MeterName);

        _meter.CreateObservableCounter("vsls.vs.packets", () => PerVs(s => s.Totals.Total), description: "Packets the VS judged since its incarnation started on the member (restarts when it moves)");
        _meter.CreateObservableCounter("vsls.vs.verdicts", Verdicts, description: "Packets by verdict (accepted, policy-dropped, rejected, out-of-state, over-limit)");
        _meter.CreateObservableCounter("vsls.vs.over_limit", OverLimitByKind, description: "Packets over a VS limit, by kind (connections, packets-per-second, new-connections-per-second, overload); they sum to the over-limit verdict");
        _meter.CreateObservableGauge("vsls.vs.connections", () => PerVs(s => s.Connections), description: "Connections in the VS's table now");
        _meter.CreateObservableGauge("vsls.vs.checkpoint.age", CheckpointAge, unit: "s", description: "Age of the VS's last checkpoint");
        _meter.CreateObservableGauge("vsls.vs.checkpoint.connections", () => PerVsOptional(s => s.LastCheckpointConnections), description: "Connections held by the VS's last checkpoint (its size)");
        _meter.CreateObservableGauge("vsls.vs.journal.lag", () => PerVsOptional(s => s.DeltasNotDurable), description: "Deltas applied but not yet durable in the journal");
        _meter.CreateObservableCounter("vsls.vs.deltas.journaled", () => PerVs(s => s.DeltasJournaled), description: "Deltas the journal confirmed since the VS's incarnation started");
        _meter.CreateObservableCounter("vsls.vs.journal.failures", () => PerVs(s => s.JournalFailures), description: "Journal writes that failed since the VS's incarnation started");
        _meter.CreateObservableGauge("vsls.vs.up", VsUp, description: "1 when the VS answered the last status read, 0 when it did not");
        _meter.CreateObservableGauge("vsls.member.active_vs", () => PerMember(m => m.ActiveCount), description: "VSs Active on the member (placement)");
        _meter.CreateObservableGauge("vsls.member.weighted_load", () => PerMember(m => m.WeightedLoad), description: "Sum of the weights of the VSs Active on the member");
        _meter.CreateObservableCounter("vsls.member.failovers", () => PerMember(m => m.Failovers), description: "VSs that moved onto the member since the VS keeper started");
        _meter.CreateObservableGauge("vsls.member.degraded", () => Overload(r => r.Level), description: "Overload level of the member (docs/degradation.md): 0 normal, 1 shedding new connections of over-share VSs, 2 shedding every VS's new connections");
        _meter.CreateObservableGauge("vsls.member.overload.latency", () => Overload(r => r.LatencyMicros / 1000.0), unit: "ms", description: "The member's longest VS batch latency in the overload monitor's last tick (what enter-latency is compared with)");
        _meter.CreateObservableGauge("vsls.member.overload.queued", () => Overload(r => r.Queued), description: "Work queued in the member's VSs at the overload monitor's last tick: mailbox messages plus unanswered batches (what enter-queue is compared with)");
        _meter.CreateObservableGauge("vsls.member.overload.over_share_vs", () => Overload(r => r.OverShare.Length), description: "VSs of the member whose share of its packets exceeded their weight share in the last tick");
        _meter.CreateObservableCounter("vsls.member.handovers", () => PerMember(m => m.HandOvers), description: "VSs that moved off the member since the VS keeper started");
    }

    /// <summary>
    /// A meter name for one member's MeterProvider to listen to: <see cref="MeterBaseName"/> for the first
    /// member in the process, then <c>VslsActors.Node.2</c>, ... A MeterProvider listens by meter
    /// <i>name</i>, so several members in one process (tests, demo) would otherwise each export the
    /// others' instruments too.
    /// </summary>
    public static string AllocateMeterName()
    {
        var n = Interlocked.Increment(ref s_instances);
        return n == 1 ? MeterBaseName : $"{MeterBaseName}.{n}";
    }

    /// <summary>The name of this instance's meter (what the MeterProvider listens to).</summary>
    public string MeterName { get; }

    /// <summary>The figures the instruments report now.</summary>
    public Sample Current => _sample;

    /// <summary>Makes <paramref name="sample"/> what the instruments report (tests of the series' shape without a cluster).</summary>
    internal void Publish(Sample sample) => _sample = sample;

    /// <summary>Reads the cluster into a new <see cref="Sample"/> (one at a time: concurrent scrapes share the read).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await _refreshing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (states, placement, _) = await _context.PlacementAsync(cancellationToken).ConfigureAwait(false);
            var moves = await _context.MovesAsync(cancellationToken).ConfigureAwait(false);
            var topology = _context.Topology;
            var statuses = await Task.WhenAll(topology.VirtualSystems.Select(async v =>
            {
                try
                {
                    return await _context.AskRegionAsync<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(v.Id), cancellationToken, TimeSpan.FromSeconds(3)).ConfigureAwait(false);
                }
                catch (Akka.Actor.AskTimeoutException)
                {
                    return null;
                }
            })).ConfigureAwait(false);
            var vss = topology.VirtualSystems.Select((v, i) => new VsSample(v.Id, v.Name, statuses[i])).ToArray();
            var members = topology.Members.Select(m =>
            {
                var counts = moves.Members.FirstOrDefault(c => c.Member == m.Value);
                return new MemberSample(m, states.TryGetValue(m, out var s) ? s : MemberState.Down,
                    placement.ActiveOn(m).Length, placement.ActiveLoad(m), counts?.TakeOvers ?? 0, counts?.HandOvers ?? 0);
            }).ToArray();
            _sample = new Sample(vss, members, DateTime.UtcNow.Ticks);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    private static KeyValuePair<string, object?>[] VsTags(VsSample v) =>
        [new("vs", v.Vs.Value), new("vs_name", v.Name), new("member", v.Status!.Member)];

    private IEnumerable<Measurement<long>> PerVs(Func<VirtualSystemReplies.Status, long> value) =>
        _sample.Vss.Where(v => v.Status is not null).Select(v => new Measurement<long>(value(v.Status!), VsTags(v)));

    private IEnumerable<Measurement<long>> PerVsOptional(Func<VirtualSystemReplies.Status, long?> value) =>
        _sample.Vss.Where(v => v.Status is not null && value(v.Status) is not null).Select(v => new Measurement<long>(value(v.Status!)!.Value, VsTags(v)));

    private IEnumerable<Measurement<long>> Verdicts()
    {
        foreach (var v in _sample.Vss.Where(v => v.Status is not null))
        {
            var t = v.Status!.Totals;
            foreach (var (kind, count) in new[] { ("accepted", t.Accepted), ("policy-dropped", t.PolicyDropped), ("rejected", t.Rejected), ("out-of-state", t.OutOfState), ("over-limit", t.OverLimit) })
                yield return new Measurement<long>(count, [.. VsTags(v), new("verdict", kind)]);
        }
    }

    private IEnumerable<Measurement<long>> OverLimitByKind()
    {
        foreach (var v in _sample.Vss.Where(v => v.Status is not null))
        {
            var t = v.Status!.Totals;
            foreach (var (kind, count) in new[] { ("connections", t.OverConnectionLimit), ("packets-per-second", t.OverPacketRate), ("new-connections-per-second", t.OverNewConnectionRate), ("overload", t.Overload) })
                yield return new Measurement<long>(count, [.. VsTags(v), new("kind", kind)]);
        }
    }

    private IEnumerable<Measurement<double>> CheckpointAge()
    {
        var sample = _sample;
        return sample.Vss.Where(v => v.Status?.LastCheckpointAtTicks is > 0)
            .Select(v => new Measurement<double>(Math.Max(0, TimeSpan.FromTicks(sample.AtTicks - v.Status!.LastCheckpointAtTicks!.Value).TotalSeconds), VsTags(v)));
    }

    private IEnumerable<Measurement<int>> VsUp() =>
        _sample.Vss.Select(v => new Measurement<int>(v.Status is null ? 0 : 1, new KeyValuePair<string, object?>("vs", v.Vs.Value), new("vs_name", v.Name)));

    /// <summary>Every member of the last sample with a fresh overload report (its own, or one received on topic vsls-overload).</summary>
    private IEnumerable<Measurement<T>> Overload<T>(Func<MemberOverloadReport, T> value) where T : struct
    {
        var state = MemberOverloadState.Get(_context.System);
        foreach (var m in _sample.Members)
        {
            if (state.ReportOf(m.Member) is { } report)
                yield return new Measurement<T>(value(report), new KeyValuePair<string, object?>("member", m.Member.Value));
        }
    }

    private IEnumerable<Measurement<long>> PerMember(Func<MemberSample, long> value) =>
        _sample.Members.Select(m => new Measurement<long>(value(m), new KeyValuePair<string, object?>("member", m.Member.Value), new("state", m.State.ToString().ToLowerInvariant())));

    /// <inheritdoc/>
    public void Dispose()
    {
        _meter.Dispose();
        _refreshing.Dispose();
    }

    /// <summary>What one scrape reports.</summary>
    /// <param name="Vss">Every configured VS, with its status (null: it did not answer in 3 s).</param>
    /// <param name="Members">Every configured member.</param>
    /// <param name="AtTicks">When it was read (UTC ticks).</param>
    public sealed record Sample(VsSample[] Vss, MemberSample[] Members, long AtTicks)
    {
        /// <summary>Before the first scrape.</summary>
        public static Sample Empty { get; } = new([], [], 0);
    }

    /// <summary>One VS in a <see cref="Sample"/>.</summary>
    public sealed record VsSample(VsId Vs, string Name, VirtualSystemReplies.Status? Status);

    /// <summary>One member in a <see cref="Sample"/>.</summary>
    public sealed record MemberSample(MemberName Member, MemberState State, long ActiveCount, long WeightedLoad, long Failovers, long HandOvers);
}
