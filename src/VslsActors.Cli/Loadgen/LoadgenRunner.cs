using System.Diagnostics;
using VslsActors.Domain;
using VslsActors.Domain.Topology;
using VslsActors.Traffic;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Cli.Loadgen;

/// <summary>
/// <c>vsls loadgen</c>: drives the synthetic traffic of <see cref="TrafficGenerator"/> into members'
/// gRPC ingress. Each of <see cref="LoadgenOptions.Streams"/> streams has its own generator (seed + i,
/// its share of the live flows) and its own <see cref="IngressClient"/> starting at target i (so the
/// streams spread over the targets), keeps <see cref="LoadgenOptions.Pipeline"/> batches outstanding,
/// and paces itself to its share of <see cref="LoadgenOptions.Rate"/>. A stream whose member dies moves
/// to the next target; the batches that member never answered are counted as lost.
/// </summary>
public sealed class LoadgenRunner(LoadgenOptions options, TextWriter output, TextWriter error)
{
    private readonly LoadgenTally _tally = new();
    private IngressClient[] _clients = [];

    /// <summary>The interval between progress lines (on <c>error</c>).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Runs and prints the report; returns the exit code (1 when every target became unreachable).</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var topology = LoadTopology();
        foreach (var t in options.Targets)
        {
            try
            {
                _ = IngressClient.ParseTarget(t);
            }
            catch (ArgumentException e)
            {
                throw new LoadgenException($"--target: {e.Message}");
            }
        }
        var clock = Stopwatch.StartNew();
        try
        {
            _clients = await Task.WhenAll(Enumerable.Range(0, options.Streams)
                .Select(i => IngressClient.ConnectAsync(options.Targets, i, cancellationToken))).ConfigureAwait(false);
        }
        catch (IngressUnavailableException e)
        {
            await error.WriteLineAsync($"vsls: loadgen: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        string? failure = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var progress = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(ProgressInterval, stop.Token).ConfigureAwait(false);
                    await error.WriteLineAsync(Snapshot(clock.Elapsed, null).ProgressLine()).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                // The run ended.
            }
        }, CancellationToken.None);
        clock.Restart();
        try
        {
            var workers = Enumerable.Range(0, options.Streams).Select(i => Task.Run(() => StreamAsync(i, topology, clock, cancellationToken))).ToArray();
            var errors = await Task.WhenAll(workers).ConfigureAwait(false);
            failure = errors.FirstOrDefault(e => e is not null);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await progress.ConfigureAwait(false);
            foreach (var c in _clients)
                await c.DisposeAsync().ConfigureAwait(false);
        }
        var report = Snapshot(clock.Elapsed, failure);
        await output.WriteLineAsync(options.Json ? report.ToJson() : report.ToText()).ConfigureAwait(false);
        if (failure is not null)
        {
            await error.WriteLineAsync($"vsls: loadgen: {failure}").ConfigureAwait(false);
            return 1;
        }
        return 0;
    }

    private LoadgenReport Snapshot(TimeSpan elapsed, string? failure) =>
        _tally.Snapshot(elapsed, options.Targets, _clients.Sum(c => c.Failovers), failure);

    private Topology LoadTopology()
    {
        Topology topology;
        try
        {
            topology = options.Topology is { } path ? TopologyLoader.Load(path) : TopologyLoader.Parse(SampleTopology.Text(), "sample topology");
        }
        catch (Domain.Configuration.ConfigException e)
        {
            throw new LoadgenException($"topology: {e.Message}");
        }
        if (options.Vss.Count == 0)
            return topology;
        foreach (var vs in options.Vss)
        {
            if (topology.Find(vs) is null)
                throw new LoadgenException($"--vs: virtual system {vs} is not in the topology ({string.Join(", ", topology.VirtualSystems.Select(v => v.Id))})");
        }
        return topology with { VirtualSystems = [.. topology.VirtualSystems.Where(v => options.Vss.Contains(v.Id))] };
    }

    /// <summary>One stream's loop; returns why it stopped early, or null.</summary>
    private async Task<string?> StreamAsync(int index, Topology topology, Stopwatch clock, CancellationToken cancellationToken)
    {
        var client = _clients[index];
        var generator = new TrafficGenerator(topology, new TrafficOptions
        {
            Seed = options.Seed + index,
            Connections = Math.Max(1, options.Connections / options.Streams),
        });
        var rate = options.Rate / (double)options.Streams;
        var window = new Queue<(int Records, Task<IngressBatchResult> Answer)>(options.Pipeline + 1);
        long offered = 0;
        string? failure = null;
        try
        {
            while (clock.Elapsed < options.Duration && !cancellationToken.IsCancellationRequested)
            {
                var n = options.Batch;
                if (rate > 0)
                {
                    var due = (long)(rate * clock.Elapsed.TotalSeconds) - offered;
                    if (due <= 0)
                    {
                        await Task.Delay(1, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    n = (int)Math.Min(n, due);
                }
                // Wall-clock timestamps: the VSs expire connections against DateTime.UtcNow.
                var batch = generator.NextBatch(n, DateTime.UtcNow.Ticks);
                var records = PacketRecordCodec.Encode(batch);
                offered += batch.Count;
                _tally.Sent(batch.Count);
                window.Enqueue((batch.Count, client.SendRecordsAsync(records, cancellationToken)));
                while (window.Count >= options.Pipeline)
                    _tally.Answered(await window.Dequeue().Answer.ConfigureAwait(false));
            }
            while (window.Count > 0)
                _tally.Answered(await window.Dequeue().Answer.ConfigureAwait(false));
        }
        catch (IngressUnavailableException e)
        {
            failure = e.Message;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            failure = "cancelled";
        }
        // Batches still queued after a failure were never written anywhere: not sent.
        while (window.Count > 0)
        {
            var (records, answer) = window.Dequeue();
            try
            {
                _tally.Answered(await answer.ConfigureAwait(false));
            }
            catch (Exception e) when (e is IngressUnavailableException or OperationCanceledException)
            {
                _tally.Sent(-records);
            }
        }
        return failure;
    }
}
