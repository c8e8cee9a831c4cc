using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Topology;

namespace VslsActors.Cli.Replay;

/// <summary>
/// Where <c>vsls replay</c> sends its packets: an embedded member (<see cref="EmbeddedReplaySink"/>)
/// or, through the ingress client, a running cluster. The replay classifies packets to VSs, batches
/// them (up to 256 per VS) and calls <see cref="SendAsync"/>, which applies back-pressure; at the end it
/// drains the replies and lists each VS's connection table.
/// </summary>
public interface IReplaySink : IAsyncDisposable
{
    /// <summary>What the packets go to, for the report (<c>embedded member (SQLite journal in /tmp/…)</c>).</summary>
    string Description { get; }

    /// <summary>Makes the sink ready to take packets for <paramref name="virtualSystems"/> (every VS the replay may send to).</summary>
    Task StartAsync(IReadOnlyList<VirtualSystemConfig> virtualSystems, CancellationToken cancellationToken);

    /// <summary>
    /// Sends one batch to <paramref name="vs"/>. Completes once the batch is on its way; waits first
    /// while the VS already has its bound of batches in flight (back-pressure). The batch array is
    /// handed over: the caller must not touch it again.
    /// </summary>
    ValueTask SendAsync(VsId vs, TimedPacket[] packets, CancellationToken cancellationToken);

    /// <summary>Waits for the replies to every batch sent; the verdict counts summed per VS.</summary>
    /// <exception cref="ReplayException">when a batch was not answered (the message says which VS and why).</exception>
    Task<IReadOnlyDictionary<VsId, VerdictCounts>> DrainAsync(CancellationToken cancellationToken);

    /// <summary>The whole connection table of <paramref name="vs"/>, counters exact (called after <see cref="DrainAsync"/>).</summary>
    Task<IReadOnlyList<ConnectionRecord>> ListConnectionsAsync(VsId vs, CancellationToken cancellationToken);
}
