using Akka.Actor;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;

namespace VslsActors.Node.Web;

/// <summary>
/// What ingress needs from the cluster: a VS's verdicts for a batch of its packets, and a part of its
/// connection table. An interface so that the back-pressure and bad-input tests can put a deliberately
/// slow or counting VS behind a real gRPC server without a cluster.
/// </summary>
public interface IVirtualSystemGateway
{
    /// <summary>The VS's verdicts for <paramref name="packets"/>, or null when it did not answer within the gateway's timeout.</summary>
    Task<VerdictCounts?> ProcessAsync(VsId vs, TimedPacket[] packets, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> connections of <paramref name="vs"/>.</summary>
    Task<VirtualSystemReplies.Connections> ListConnectionsAsync(VsId vs, int limit, CancellationToken cancellationToken);
}

/// <summary>
/// The gateway of a member: asks through its <c>virtual-system</c> shard region, which forwards to the
/// VS's Active member wherever that is. One Ask per VS per batch: at 4,096-record batches over a dozen
/// VSs that is a few thousand asks per second, where Akka's lightweight ask reference costs about a
/// microsecond each, so a long-lived correlating actor would not pay for its complexity (measured
/// figures: docs/ingress.md).
/// </summary>
public sealed class ShardRegionGateway(IActorRef region, TimeSpan askTimeout) : IVirtualSystemGateway
{
    /// <inheritdoc />
    public async Task<VerdictCounts?> ProcessAsync(VsId vs, TimedPacket[] packets, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await region.Ask<VirtualSystemReplies.PacketVerdicts>(
                new VirtualSystemCommands.ProcessPackets(vs, packets), askTimeout, cancellationToken).ConfigureAwait(false);
            return reply.Counts;
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public Task<VirtualSystemReplies.Connections> ListConnectionsAsync(VsId vs, int limit, CancellationToken cancellationToken) =>
        region.Ask<VirtualSystemReplies.Connections>(new VirtualSystemQueries.ListConnections(vs, limit), askTimeout, cancellationToken);
}
