using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.MultiNode.Harness;
using VslsActors.Traffic;
using VslsActors.Traffic.Ingress;
using VslsActors.Traffic.Ingress.Grpc;

namespace VslsActors.MultiNode.Traffic;

/// <summary>One batch the driver sent to one VS, and what came of it.</summary>
/// <param name="Vs">The VS.</param>
/// <param name="SentAt">When it was sent (UTC).</param>
/// <param name="AnsweredAt">When the answer came (null: the call failed, see <paramref name="Error"/>).</param>
/// <param name="Records">Records in it.</param>
/// <param name="Accepted">Accepted by the VS.</param>
/// <param name="OutOfState">Dropped as out of state: a connection the VS does not know (lost).</param>
/// <param name="Unanswered">Routed, but the VS did not answer in the member's ask timeout.</param>
/// <param name="Error">Why the call failed (the member went away), or null.</param>
/// <param name="Target">The member whose ingress took it.</param>
public sealed record BatchRecord(int Vs, DateTime SentAt, DateTime? AnsweredAt, int Records, long Accepted, long OutOfState, long Unanswered, string? Error, string Target)
{
    /// <summary>Every record accepted.</summary>
    public bool FullyAccepted => AnsweredAt is not null && Error is null && Accepted == Records;
}

/// <summary>
/// A connection opened by <see cref="TrafficDriver.OpenProbesAsync"/>: its handshake fully accepted at
/// <paramref name="AnsweredAt"/>, then left alone (no keep-alives), to be looked up in the VS's table later.
/// </summary>
/// <param name="Vs">The VS.</param>
/// <param name="Key">The connection as the VS lists it.</param>
/// <param name="Delayed">Opened on the delay-synced rule (false: the immediately synced one).</param>
/// <param name="FirstSeen">Its first packet's timestamp (the VS's sync delay runs from here).</param>
/// <param name="AnsweredAt">When the handshake batch was answered: for an immediately synced connection, it was durable then.</param>
public sealed record ProbeConnection(int Vs, string Key, bool Delayed, DateTime FirstSeen, DateTime AnsweredAt);

/// <summary>Settings of a <see cref="TrafficDriver"/>.</summary>
public sealed record TrafficOptions
{
    /// <summary>Established TCP connections kept per VS (half on the immediately synced rule, half on the delayed one).</summary>
    public int ConnectionsPerVs { get; init; } = 20;

    /// <summary>One batch per VS this often: a keep-alive segment per connection and the handshakes being opened.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>New connections opened per VS per batch until <see cref="ConnectionsPerVs"/> are established.</summary>
    public int OpenPerBatch { get; init; } = 4;

    /// <summary>Batches of one VS that may wait for an answer; at the cap the VS skips a beat.</summary>
    public int MaxOutstandingPerVs { get; init; } = 64;

    /// <summary>gRPC deadline of one batch (the member answers "unanswered" after its own 10 s ask timeout).</summary>
    public TimeSpan CallDeadline { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Margin past the sync delay (and the VS's 1 s sweep) before a delayed-sync connection counts as
    /// synced: the sweep's timer can fire late on a loaded member.
    /// </summary>
    public TimeSpan DelayedSyncMargin { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Client port of a VS's first connection (the next ones count up): a second driver on the same
    /// cluster takes another range, so that its connections are new ones, not the first driver's.
    /// </summary>
    public ushort FirstClientPort { get; init; } = 20000;
}

/// <summary>
/// Keeps established TCP connections in every VS through the members' gRPC ingress, the way a busy
/// network would: each VS gets one batch every <see cref="TrafficOptions.Interval"/> on its own gRPC call
/// (HTTP/2 stream), so a VS that is failing over never holds back the answers of another, and a batch
/// stranded on a dead member never holds back the next one. Each VS's batches go to one member's
/// ingress (VS i to member i mod n); when that member is gone (the call fails, or the harness says it
/// was faulted — the way a load balancer's health check would) the VS moves to the next member.
/// Records every batch (<see cref="Batches"/>) for failover gaps, and knows which connections were
/// synced when (<see cref="SyncedConnections"/>): immediate-sync connections once the handshake batch
/// was answered (a VS answers only when what it journaled is durable), delayed-sync ones after the VS's
/// sync delay, its sweep and a margin.
/// </summary>
public sealed class TrafficDriver : IAsyncDisposable
{
    private readonly TrafficOptions _options;
    private readonly TimeSpan _syncDelay;
    private readonly object _gate = new();
    private readonly List<Lane> _lanes;
    private readonly List<(string Member, string Endpoint, GrpcChannel Channel, Ingress.IngressClient Client)> _targets;
    private readonly HashSet<string> _unavailable = [];
    private readonly List<BatchRecord> _batches = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Action<string>? _log;
    private Task? _loop;
    private ulong _batchId;
    private volatile bool _holding;

    private sealed class Connection(string key, TimedPacketFactory factory, bool delayed)
    {
        public string Key { get; } = key;
        public TimedPacketFactory Factory { get; } = factory;
        public bool Delayed { get; } = delayed;
        public DateTime? EstablishedAt { get; set; }
        public bool Abandoned { get; set; }
    }

    private sealed record TimedPacketFactory(NetAddress Client, ushort ClientPort, NetAddress Server, ushort ServerPort);

    private sealed class Lane(int vs, int targetIndex)
    {
        public int Vs { get; } = vs;
        public int TargetIndex { get; set; } = targetIndex;
        public List<Connection> Connections { get; } = [];
        public int Outstanding { get; set; }
        public int NextClient { get; set; }
    }

    /// <summary>A driver for <paramref name="vss"/> through the ingress of <paramref name="members"/> (name, host:port).</summary>
    public TrafficDriver(IReadOnlyList<int> vss, IReadOnlyList<(string Member, string Endpoint)> members, TimeSpan syncDelay, TrafficOptions? options = null, Action<string>? log = null)
    {
        _options = options ?? new TrafficOptions();
        _syncDelay = syncDelay;
        _log = log;
        _targets = members.Select(m =>
        {
            var channel = GrpcChannel.ForAddress(IngressClient.ParseTarget(m.Endpoint), new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, ConnectTimeout = TimeSpan.FromSeconds(2) },
            });
            return (m.Member, m.Endpoint, channel, new Ingress.IngressClient(channel));
        }).ToList();
        _lanes = vss.Select((vs, i) => new Lane(vs, i % _targets.Count)).ToList();
    }

    /// <summary>Starts sending.</summary>
    public void Start() => _loop ??= Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Tells the driver a member cannot take traffic (faulted) or can again.</summary>
    public void SetAvailable(string member, bool available)
    {
        lock (_gate)
        {
            if (available)
                _unavailable.Remove(member);
            else
                _unavailable.Add(member);
        }
    }

    /// <summary>Every batch so far.</summary>
    public IReadOnlyList<BatchRecord> Batches
    {
        get { lock (_gate) return [.. _batches]; }
    }

    /// <summary>Established connections per VS now.</summary>
    public IReadOnlyDictionary<int, int> Established()
    {
        lock (_gate)
            return _lanes.ToDictionary(l => l.Vs, l => l.Connections.Count(c => c.EstablishedAt is not null && !c.Abandoned));
    }

    /// <summary>
    /// Per VS, the keys (as <see cref="ConnectionView.Key"/>) of connections synced at <paramref name="at"/>:
    /// the ones the VS must still have after any fault from then on.
    /// </summary>
    public IReadOnlyDictionary<int, IReadOnlyCollection<string>> SyncedConnections(DateTime at)
    {
        var delayedBy = _syncDelay + TimeSpan.FromSeconds(1) + _options.DelayedSyncMargin;
        lock (_gate)
        {
            return _lanes.ToDictionary(l => l.Vs, l => (IReadOnlyCollection<string>)l.Connections
                .Where(c => !c.Abandoned && c.EstablishedAt is { } e && e <= (c.Delayed ? at - delayedBy : at))
                .Select(c => c.Key).ToArray());
        }
    }

    /// <summary>Waits until every VS has all its connections established and synced (both kinds).</summary>
    public async Task WaitForSyncedAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var synced = SyncedConnections(DateTime.UtcNow);
            if (synced.Values.All(s => s.Count >= _options.ConnectionsPerVs))
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"connections not all synced within {timeout.TotalSeconds:0} s: {string.Join(", ", synced.OrderBy(p => p.Key).Select(p => $"VS {p.Key} {p.Value.Count}/{_options.ConnectionsPerVs}"))}");
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The failover gap of <paramref name="vs"/> across <paramref name="faultAt"/>: from the last fully
    /// accepted answer before it to the first fully accepted answer to a batch sent after it; null if
    /// no batch sent after the fault has been fully accepted (yet).
    /// </summary>
    public TimeSpan? Gap(int vs, DateTime faultAt)
    {
        var batches = Batches.Where(b => b.Vs == vs && b.FullyAccepted).ToArray();
        var before = batches.Where(b => b.AnsweredAt <= faultAt).Select(b => b.AnsweredAt!.Value).DefaultIfEmpty().Max();
        var after = batches.Where(b => b.SentAt >= faultAt).Select(b => b.AnsweredAt!.Value).DefaultIfEmpty().Min();
        if (before == default || after == default)
            return null;
        return after - before;
    }

    /// <summary>
    /// The failover gap of every VS in <paramref name="vss"/> across <paramref name="faultAt"/>, once each
    /// has one or <paramref name="timeout"/> passed (then the missing ones are null). Waited for, never read
    /// at once: convergence says where a VS runs, not that the driver has had an answer from it yet (a lane
    /// whose batches went to a hung member has them outstanding until the ingress gives up on them).
    /// </summary>
    public async Task<IReadOnlyDictionary<int, TimeSpan?>> WaitForGapsAsync(IEnumerable<int> vss, DateTime faultAt, TimeSpan timeout, CancellationToken ct = default)
    {
        var list = vss.ToArray();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var gaps = list.ToDictionary(vs => vs, vs => Gap(vs, faultAt));
            if (gaps.Values.All(g => g is not null) || DateTime.UtcNow > deadline)
                return gaps;
            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Opens <paramref name="count"/> new connections in <paramref name="vs"/> at once (alternately on the
    /// immediately synced and the delay-synced rule), in one batch to the member the VS's traffic goes to,
    /// and returns when that batch was fully accepted. They get no keep-alives: a spec kills a member right
    /// after and then looks them up, to show which kind a failover keeps.
    /// </summary>
    /// <exception cref="InvalidOperationException">The batch was not fully accepted.</exception>
    public async Task<IReadOnlyList<ProbeConnection>> OpenProbesAsync(int vs, int count, CancellationToken ct = default)
    {
        var now = DateTime.UtcNow;
        List<Connection> opened = [];
        List<TrafficPacket> packets = [];
        int target;
        lock (_gate)
        {
            var lane = _lanes.Single(l => l.Vs == vs);
            target = PickTarget(lane);
            if (target < 0)
                throw new InvalidOperationException($"no member takes traffic for VS {vs}");
            for (var i = 0; i < count; i++)
            {
                var c = NewConnection(lane);
                opened.Add(c);
                packets.AddRange(Handshake(new VsId(vs), c.Factory, now.Ticks));
            }
        }
        var (_, answeredAt, verdicts, error) = await CallAsync(target, packets, ct).ConfigureAwait(false);
        if (error is not null || verdicts!.Accepted != (ulong)packets.Count)
            throw new InvalidOperationException($"the probe batch for VS {vs} was not fully accepted by {_targets[target].Member}: {error ?? $"{verdicts!.Accepted} of {packets.Count} accepted"}");
        return opened.Select(c => new ProbeConnection(vs, c.Key, c.Delayed, now, answeredAt!.Value)).ToArray();
    }

    /// <summary>Packets of keep-alives on established connections that a VS did not know, after <paramref name="since"/>.</summary>
    public long OutOfStateSince(int vs, DateTime since) => Batches.Where(b => b.Vs == vs && b.SentAt >= since).Sum(b => b.OutOfState);

    private async Task RunAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(_options.Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                foreach (var lane in _lanes)
                    Tick(lane, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // stopped
        }
    }

    /// <summary>
    /// Stops sending new batches and waits until every batch in flight was answered or failed, so that
    /// each connection is then either established (its handshake fully accepted) or given up — a
    /// quiet network whose tables can be compared. <see cref="Resume"/> sends again.
    /// </summary>
    public async Task HoldAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        _holding = true;
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            int outstanding;
            lock (_gate)
                outstanding = _lanes.Sum(l => l.Outstanding);
            if (outstanding == 0)
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{outstanding} batches still in flight {timeout.TotalSeconds:0} s after the traffic was held");
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Sends again after <see cref="HoldAsync"/>.</summary>
    public void Resume() => _holding = false;

    private void Tick(Lane lane, CancellationToken ct)
    {
        if (_holding)
            return;
        List<TrafficPacket> packets = [];
        List<Connection> opening = [];
        int target;
        lock (_gate)
        {
            if (lane.Outstanding >= _options.MaxOutstandingPerVs)
                return;
            target = PickTarget(lane);
            if (target < 0)
                return;
            var now = DateTime.UtcNow.Ticks;
            var vs = new VsId(lane.Vs);
            foreach (var c in lane.Connections.Where(c => c.EstablishedAt is not null && !c.Abandoned))
                packets.Add(new TrafficPacket(vs, new TimedPacket(now, PacketHeader.Tcp(c.Factory.Client, c.Factory.ClientPort, c.Factory.Server, c.Factory.ServerPort, TcpFlags.Ack | TcpFlags.Psh, 100))));
            var live = lane.Connections.Count(c => !c.Abandoned);
            for (var i = 0; i < _options.OpenPerBatch && live + i < _options.ConnectionsPerVs; i++)
            {
                var c = NewConnection(lane);
                lane.Connections.Add(c);
                opening.Add(c);
                packets.AddRange(Handshake(vs, c.Factory, now));
            }
            if (packets.Count == 0)
                return;
            lane.Outstanding++;
        }
        _ = SendAsync(lane, target, packets, opening, ct);
    }

    private int PickTarget(Lane lane)
    {
        for (var i = 0; i < _targets.Count; i++)
        {
            var index = (lane.TargetIndex + i) % _targets.Count;
            if (!_unavailable.Contains(_targets[index].Member))
            {
                lane.TargetIndex = index;
                return index;
            }
        }
        return -1;
    }

    /// <summary>SYN, SYN-ACK, ACK of a connection, stamped <paramref name="now"/>.</summary>
    private static TrafficPacket[] Handshake(VsId vs, TimedPacketFactory f, long now) =>
    [
        new(vs, new TimedPacket(now, PacketHeader.Tcp(f.Client, f.ClientPort, f.Server, f.ServerPort, TcpFlags.Syn, 60))),
        new(vs, new TimedPacket(now, PacketHeader.Tcp(f.Server, f.ServerPort, f.Client, f.ClientPort, TcpFlags.Syn | TcpFlags.Ack, 60))),
        new(vs, new TimedPacket(now, PacketHeader.Tcp(f.Client, f.ClientPort, f.Server, f.ServerPort, TcpFlags.Ack, 52))),
    ];

    private Connection NewConnection(Lane lane)
    {
        var n = lane.NextClient++;
        var client = NetAddress.Parse($"10.{lane.Vs.ToString(CultureInfo.InvariantCulture)}.1.{(1 + n % 250).ToString(CultureInfo.InvariantCulture)}");
        var server = NetAddress.Parse($"10.{lane.Vs.ToString(CultureInfo.InvariantCulture)}.0.1");
        var clientPort = (ushort)(_options.FirstClientPort + n);
        var delayed = n % 2 == 1;
        var serverPort = delayed ? HarnessTopology.DelayedPort : HarnessTopology.ImmediatePort;
        var key = $"tcp {client}:{clientPort.ToString(CultureInfo.InvariantCulture)} > {server}:{serverPort.ToString(CultureInfo.InvariantCulture)}";
        return new Connection(key, new TimedPacketFactory(client, clientPort, server, serverPort), delayed);
    }

    private async Task SendAsync(Lane lane, int target, List<TrafficPacket> packets, List<Connection> opening, CancellationToken ct)
    {
        var member = _targets[target].Member;
        BatchRecord record;
        try
        {
            var (sentAt, answeredAt, v, error) = await CallAsync(target, packets, ct).ConfigureAwait(false);
            record = v is null
                ? new BatchRecord(lane.Vs, sentAt, null, packets.Count, 0, 0, 0, error, member)
                : new BatchRecord(lane.Vs, sentAt, answeredAt, packets.Count, (long)v.Accepted, (long)v.OutOfState, (long)v.Unanswered, error, member);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        if (ct.IsCancellationRequested)
            return; // the driver is stopping: a call cut short says nothing about the member
        var moved = false;
        lock (_gate)
        {
            lane.Outstanding--;
            _batches.Add(record);
            foreach (var c in opening)
            {
                // A handshake whose batch was not fully accepted may or may not exist in the VS: it is given
                // up (a replacement is opened) and never counted as synced.
                if (record.FullyAccepted)
                    c.EstablishedAt = record.AnsweredAt;
                else
                    c.Abandoned = true;
            }
            if (record.Error is not null && lane.TargetIndex == target)
            {
                // The member's ingress is gone: move this VS's traffic to the next member.
                lane.TargetIndex = (target + 1) % _targets.Count;
                moved = true;
            }
        }
        if (moved)
            _log?.Invoke($"driver: VS {lane.Vs} batch to {member} failed ({record.Error!.Split('\n')[0]}); next batches go to {_targets[lane.TargetIndex].Member}");
    }

    /// <summary>
    /// One batch on its own gRPC call to <paramref name="target"/>: when it was sent, when answered, the
    /// verdicts (null when the call failed) and the error (the call's, or the member's answer's).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> was cancelled.</exception>
    private async Task<(DateTime SentAt, DateTime? AnsweredAt, BatchVerdicts? Verdicts, string? Error)> CallAsync(int target, List<TrafficPacket> packets, CancellationToken ct)
    {
        var client = _targets[target].Client;
        var sentAt = DateTime.UtcNow;
        try
        {
            var bytes = PacketRecordCodec.Encode(packets.ToArray());
            using var call = client.Send(deadline: DateTime.UtcNow + _options.CallDeadline, cancellationToken: ct);
            await call.RequestStream.WriteAsync(new PacketBatch { BatchId = Interlocked.Increment(ref _batchId), Records = ByteString.CopyFrom(bytes) }, ct).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            if (!await call.ResponseStream.MoveNext(ct).ConfigureAwait(false))
                throw new RpcException(new Status(StatusCode.Unavailable, "the stream ended without an answer"));
            var v = call.ResponseStream.Current;
            return (sentAt, DateTime.UtcNow, v, string.IsNullOrEmpty(v.Error) ? null : v.Error);
        }
        catch (Exception e) when (e is RpcException or IOException or HttpRequestException or InvalidOperationException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            return (sentAt, null, null, e.Message);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
            await _loop.ConfigureAwait(false);
        foreach (var t in _targets)
            t.Channel.Dispose();
        _stop.Dispose();
    }
}
