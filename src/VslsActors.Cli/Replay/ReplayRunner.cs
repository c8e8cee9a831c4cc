using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using VslsActors.Cluster.Export;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;
using VslsActors.Traffic.Capture;

namespace VslsActors.Cli.Replay;

/// <summary>
/// The replay itself: reads the capture (<see cref="CaptureReader"/>), decodes its frames on one
/// thread per core and takes them back in file order (<see cref="ParallelCaptureDecoder"/>), maps each to a VS, shifts its timestamp onto the wall clock, batches
/// up to <see cref="BatchSize"/> packets per VS into the <see cref="IReplaySink"/>, optionally paced
/// by the capture's timing, then drains the replies, lists every VS's table, writes it with
/// <see cref="ConnectionTableJson"/> and reports.
/// </summary>
/// <remarks>
/// <para><b>Time.</b> A VS expires connections against the wall clock, so every packet carries its
/// capture time plus one constant offset (now − the first packet's capture time, taken when the
/// first packet is read); the table's <c>first_seen</c>/<c>last_seen</c> have it subtracted again,
/// so they show capture times.</para>
/// <para><b>Refused flows.</b> A flow whose first packet a VS refused (policy drop, reject, out of
/// state, over limit) has no row: only the VS knows which flows it tracks, and the replay does not
/// duplicate its admission logic. Their packets are in the per-VS verdict counts of the report.</para>
/// </remarks>
public static class ReplayRunner
{
    /// <summary>Most packets in one batch to one VS.</summary>
    public const int BatchSize = 256;

    private static readonly MemberName Member = new("replay");

    private sealed class Batch
    {
        public TimedPacket[] Packets = new TimedPacket[BatchSize];
        public int Count;
    }

    /// <summary>Runs the replay; returns the exit code (0, or 2 when the input had bad parts).</summary>
    public static async Task<int> RunAsync(ReplayOptions options, IReplaySink sink, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        await using var ownedSink = sink;
        var plan = ReplayPlan.Build(options, Member);

        CaptureReader reader;
        try
        {
            reader = CaptureReader.Open(options.File);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ReplayException($"cannot read {options.File}: {e.Message}");
        }
        using var _ = reader;
        if (reader.Issue == CaptureIssue.NotACapture)
            throw new ReplayException($"{options.File}: not a pcap or pcapng capture ({reader.IssueDetail})");

        FileStream? table = null;
        if (options.Out is { } outPath)
        {
            try
            {
                // Opened before the replay so that a bad path fails at once, not after minutes of work.
                table = new FileStream(outPath, FileMode.Create, FileAccess.Write, FileShare.Read);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new ReplayException($"--out {outPath}: {e.Message}");
            }
        }
        await using var tableStream = table;

        await sink.StartAsync(plan.VirtualSystems, cancellationToken).ConfigureAwait(false);

        var tally = new ReplayTally();
        var batches = new Dictionary<VsId, Batch>();
        foreach (var vs in plan.VirtualSystems)
            batches[vs.Id] = new Batch();
        var clock = Stopwatch.StartNew();
        var lastProgress = TimeSpan.Zero;
        long firstCapture = 0, offset = 0, lastCapture = 0;
        var speed = options.Speed;

        using var decoder = new ParallelCaptureDecoder(reader, options.DecodeWorkers ?? Environment.ProcessorCount);
        while (await decoder.ReadAsync(cancellationToken).ConfigureAwait(false) is { } chunk)
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                var frame = chunk[i];
                tally.Frames++;
                var decoded = frame.Decoded;
                if (!decoded.IsPacket)
                {
                    tally.Count(decoded.Issue, frame.Number, frame.Offset);
                    continue;
                }
                tally.Decoded++;
                if (!plan.TryClassify(decoded, out var vsId))
                {
                    tally.UnknownVs++;
                    continue;
                }
                if (tally.Sent == 0)
                {
                    firstCapture = frame.Timestamp;
                    offset = DateTime.UtcNow.Ticks - frame.Timestamp;
                }
                lastCapture = frame.Timestamp;

                if (speed is { } factor)
                {
                    // Capture timing × factor: wait until this packet is due, sending what is batched first
                    // so that no packet waits in a half-full batch while the replay sleeps.
                    var due = (long)((frame.Timestamp - firstCapture) / factor);
                    var ahead = due - clock.Elapsed.Ticks;
                    if (ahead > TimeSpan.TicksPerMillisecond)
                    {
                        await FlushAllAsync(sink, batches, cancellationToken).ConfigureAwait(false);
                        await Task.Delay(TimeSpan.FromTicks(ahead), cancellationToken).ConfigureAwait(false);
                    }
                }

                var batch = batches[vsId];
                batch.Packets[batch.Count++] = new TimedPacket(frame.Timestamp + offset, decoded.Header);
                tally.Sent++;
                if (batch.Count == BatchSize)
                    await FlushAsync(sink, vsId, batch, cancellationToken).ConfigureAwait(false);

                if ((tally.Frames & 0xFFFF) == 0 && !options.Json && clock.Elapsed - lastProgress >= TimeSpan.FromSeconds(1))
                {
                    lastProgress = clock.Elapsed;
                    await error.WriteLineAsync($"replay: {tally.Frames:N0} frames read, {tally.Sent:N0} packets sent, {tally.Sent / clock.Elapsed.TotalSeconds:N0} packets/s").ConfigureAwait(false);
                }
            }
        }
        await FlushAllAsync(sink, batches, cancellationToken).ConfigureAwait(false);
        var verdicts = await sink.DrainAsync(cancellationToken).ConfigureAwait(false);
        clock.Stop();

        // The tables, with times shifted back to capture time, oldest connection first.
        var rows = new List<(VsId Vs, ConnectionRecord Record)>();
        var perVs = new Dictionary<VsId, int>();
        foreach (var vs in plan.VirtualSystems)
        {
            var records = await sink.ListConnectionsAsync(vs.Id, cancellationToken).ConfigureAwait(false);
            perVs[vs.Id] = records.Count;
            foreach (var r in records)
                rows.Add((vs.Id, r with { State = Shift(r.State, -offset) }));
        }
        rows.Sort(static (a, b) => a.Record.State.FirstSeen != b.Record.State.FirstSeen
            ? a.Record.State.FirstSeen.CompareTo(b.Record.State.FirstSeen)
            : a.Vs.Value.CompareTo(b.Vs.Value));
        if (tableStream is not null)
            WriteTable(tableStream, rows);

        var report = new ReplayReport
        {
            File = options.File,
            Format = reader.Format,
            Sink = sink.Description,
            VsBy = options.VsBy,
            Speed = options.Speed,
            FramesRead = tally.Frames,
            PacketsDecoded = tally.Decoded,
            PacketsSent = tally.Sent,
            UnknownVs = tally.UnknownVs,
            Issues = tally.Issues(),
            CaptureProblem = reader.Issue == CaptureIssue.None ? null : new ReplayReport.Problem(reader.Issue.Name(), reader.IssueOffset, reader.IssueDetail),
            VirtualSystems = plan.VirtualSystems
                .Select(v => new ReplayReport.VsReport(v.Id.Value, v.Name, verdicts.TryGetValue(v.Id, out var c) ? c : VerdictCounts.Zero, perVs[v.Id]))
                .ToList(),
            ConnectionsWritten = tableStream is null ? 0 : rows.Count,
            OutFile = options.Out,
            FirstPacketTime = tally.Sent > 0 ? firstCapture : null,
            LastPacketTime = tally.Sent > 0 ? lastCapture : null,
            TimestampShiftTicks = offset,
            DurationS = clock.Elapsed.TotalSeconds,
        };
        if (options.Json)
            await output.WriteLineAsync(report.ToJson()).ConfigureAwait(false);
        else
            await output.WriteAsync(report.ToText()).ConfigureAwait(false);

        if (report.BadInput is { } bad)
        {
            await error.WriteLineAsync($"vsls: replay: {options.File}: {bad}").ConfigureAwait(false);
            return VslsCli.UsageError;
        }
        return 0;
    }

    private static async ValueTask FlushAsync(IReplaySink sink, VsId vs, Batch batch, CancellationToken cancellationToken)
    {
        // The array is handed over (the VS shares it with its connection actors): a new one for the next batch.
        var packets = batch.Count == batch.Packets.Length ? batch.Packets : batch.Packets[..batch.Count];
        batch.Packets = new TimedPacket[BatchSize];
        batch.Count = 0;
        await sink.SendAsync(vs, packets, cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask FlushAllAsync(IReplaySink sink, Dictionary<VsId, Batch> batches, CancellationToken cancellationToken)
    {
        foreach (var (vs, batch) in batches)
        {
            if (batch.Count > 0)
                await FlushAsync(sink, vs, batch, cancellationToken).ConfigureAwait(false);
        }
    }

    private static ConnectionState Shift(ConnectionState s, long by) => ConnectionState.Restore(
        s.Phase, s.Protocol, s.OriginatorFinSeen, s.ResponderFinSeen, s.OrigPackets, s.OrigBytes, s.RespPackets, s.RespBytes, s.FirstSeen + by, s.LastSeen + by);

    private static void WriteTable(Stream stream, List<(VsId Vs, ConnectionRecord Record)> rows)
    {
        using var buffered = new BufferedStream(stream, 1 << 16);
        using var writer = new Utf8JsonWriter(buffered);
        foreach (var (vs, record) in rows)
        {
            ConnectionTableJson.Write(writer, vs, record);
            writer.Flush();
            writer.Reset();
            buffered.WriteByte((byte)'\n');
        }
        buffered.Flush();
    }
}

/// <summary>
/// Which VSs a replay runs and how a decoded packet finds its VS (<see cref="VsMapping"/>): a single
/// accept-all VS, the topology's VS named by <c>--vs</c>, or the topology's VLAN and subnet maps.
/// </summary>
internal sealed class ReplayPlan
{
    private readonly VsMapping _mapping;
    private readonly VsId _single;
    private readonly VsId[] _byVlan = new VsId[4096];
    private readonly TrafficClassifier? _classifier;

    private ReplayPlan(VsMapping mapping, IReadOnlyList<VirtualSystemConfig> virtualSystems, TrafficClassifier? classifier)
    {
        _mapping = mapping;
        VirtualSystems = virtualSystems;
        _classifier = classifier;
        _single = virtualSystems[0].Id;
        foreach (var vs in virtualSystems)
        {
            foreach (var vlan in vs.Vlans)
            {
                if ((uint)vlan < (uint)_byVlan.Length)
                    _byVlan[vlan] = vs.Id;
            }
        }
    }

    /// <summary>The VSs the sink runs.</summary>
    public IReadOnlyList<VirtualSystemConfig> VirtualSystems { get; }

    /// <summary>The VS of <paramref name="packet"/>, or false (counted as unknown VS).</summary>
    public bool TryClassify(in DecodedFrame packet, out VsId vs)
    {
        switch (_mapping)
        {
            case VsMapping.Single:
                vs = _single;
                return true;
            case VsMapping.Vlan:
                vs = packet.Vlan >= 0 ? _byVlan[packet.Vlan & 0xFFF] : default;
                return vs != default;
            default:
                // The destination decides (a VS's subnets are the networks behind it); a reply's
                // destination is the outside client, so then its source, the inside server, decides.
                return _classifier!.TryClassifyAddress(packet.Header.Destination, out vs) || _classifier.TryClassifyAddress(packet.Header.Source, out vs);
        }
    }

    public static ReplayPlan Build(ReplayOptions options, MemberName member)
    {
        var topology = options.Topology is { } path ? TopologyLoader.Load(path) : null;
        switch (options.VsBy)
        {
            case VsMapping.Single when topology is null:
            {
                if (options.Vs is not null)
                    throw new ReplayException("--vs names a VS of --topology; without a topology the single VS accepts everything");
                // Every packet into one VS whose policy accepts everything; no connection limit to speak of.
                var vs = new VirtualSystemConfig(new VsId(1), "replay", VirtualSystemConfig.DefaultWeight, [member], PolicyDefinition.AcceptAll,
                    ConnectionTimeouts.Default, int.MaxValue, VirtualSystemConfig.DefaultSyncDelay, [], []);
                return new ReplayPlan(VsMapping.Single, [vs], null);
            }
            case VsMapping.Single:
            {
                VirtualSystemConfig vs;
                if (options.Vs is { } id)
                    vs = topology!.VirtualSystems.FirstOrDefault(v => v.Id.Value == id) ?? throw new ReplayException($"--vs {id}: {options.Topology} has no virtual system {id}");
                else if (topology!.VirtualSystems.Length == 1)
                    vs = topology.VirtualSystems[0];
                else
                    throw new ReplayException($"--vs-by single: {options.Topology} has {topology.VirtualSystems.Length} virtual systems; name one with --vs");
                return new ReplayPlan(VsMapping.Single, [vs], null);
            }
            default:
            {
                if (topology is null)
                    throw new ReplayException($"--vs-by {options.VsBy.ToString().ToLowerInvariant()} needs --topology (the file that maps VLANs and subnets to virtual systems)");
                if (options.Vs is not null)
                    throw new ReplayException("--vs is for --vs-by single");
                var vss = topology.VirtualSystems.Where(v => options.VsBy == VsMapping.Vlan ? !v.Vlans.IsEmpty : !v.Subnets.IsEmpty).ToImmutableArray();
                if (vss.IsEmpty)
                    throw new ReplayException($"--vs-by {options.VsBy.ToString().ToLowerInvariant()}: no virtual system in {options.Topology} has {(options.VsBy == VsMapping.Vlan ? "vlans" : "subnets")}");
                return new ReplayPlan(options.VsBy, vss, new TrafficClassifier(topology));
            }
        }
    }
}

/// <summary>Counts of a replay's frames by outcome, with the first frame of each issue kind.</summary>
internal sealed class ReplayTally
{
    private readonly long[] _counts = new long[Enum.GetValues<CaptureIssue>().Length];
    private readonly (long Frame, long Offset)[] _first = new (long, long)[Enum.GetValues<CaptureIssue>().Length];

    public long Frames;
    public long Decoded;
    public long Sent;
    public long UnknownVs;

    public void Count(CaptureIssue issue, long frame, long offset)
    {
        if (_counts[(int)issue]++ == 0)
            _first[(int)issue] = (frame, offset);
    }

    public IReadOnlyList<ReplayReport.IssueCount> Issues()
    {
        var list = new List<ReplayReport.IssueCount>();
        foreach (var issue in Enum.GetValues<CaptureIssue>())
        {
            if (_counts[(int)issue] > 0)
                list.Add(new ReplayReport.IssueCount(issue.Name(), issue.IsBad(), _counts[(int)issue], _first[(int)issue].Frame, _first[(int)issue].Offset));
        }
        return list;
    }
}
