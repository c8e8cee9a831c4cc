using Akka.Hosting;
using VslsActors.Cluster.Hosting;
using VslsActors.Domain.Topology;

namespace VslsActors.Node.Web;

/// <summary>
/// What the ingress service of one member shares across its streams: options, topology, the gateway
/// into the cluster (resolved once, when the shard region is up) and the in-flight gauge.
/// </summary>
public sealed class IngressHostContext
{
    private readonly Func<CancellationToken, Task<IVirtualSystemGateway>> _gatewayFactory;
    private Task<IVirtualSystemGateway>? _gateway;
    private Task<IngressRouter>? _router;
    private long _maxInFlight;

    /// <summary>Batches on this member now, over all streams (read by tests and logs).</summary>
    internal long InFlightCounter;

    /// <summary>A context whose gateway comes from <paramref name="gatewayFactory"/> (called once).</summary>
    public IngressHostContext(IngressOptions options, Topology topology, string member, Func<CancellationToken, Task<IVirtualSystemGateway>> gatewayFactory)
    {
        Options = options;
        Topology = topology;
        Member = member;
        _gatewayFactory = gatewayFactory;
    }

    /// <summary>A context for a member: the gateway asks the <c>virtual-system</c> shard region from <paramref name="registry"/>.</summary>
    public static IngressHostContext ForMember(IngressOptions options, VslsClusterOptions cluster, ActorRegistry registry) =>
        new(options, cluster.Topology, cluster.Member.Value, async ct =>
        {
            var region = await registry.GetAsync<VirtualSystemRegion>(ct).ConfigureAwait(false);
            return new ShardRegionGateway(region, options.AskTimeout);
        });

    /// <summary>The ingress settings.</summary>
    public IngressOptions Options { get; }

    /// <summary>The topology the member started with (its VSs, VLANs and subnets).</summary>
    public Topology Topology { get; }

    /// <summary>This member's name, returned in every answer.</summary>
    public string Member { get; }

    /// <summary>Batches on this member now, over all streams.</summary>
    public long InFlight => Interlocked.Read(ref InFlightCounter);

    /// <summary>The most batches that were on this member at once.</summary>
    public long MaxInFlightObserved => Interlocked.Read(ref _maxInFlight);

    internal void ObserveInFlight()
    {
        var now = Interlocked.Read(ref InFlightCounter);
        long seen;
        while (now > (seen = Interlocked.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }
    }

    /// <summary>The gateway (waits for the shard region on first use).</summary>
    public Task<IVirtualSystemGateway> GatewayAsync(CancellationToken cancellationToken) =>
        LazyInitializer.EnsureInitialized(ref _gateway, () => _gatewayFactory(CancellationToken.None)).WaitAsync(cancellationToken);

    /// <summary>The router (waits for the shard region on first use).</summary>
    public Task<IngressRouter> RouterAsync(CancellationToken cancellationToken) =>
        LazyInitializer.EnsureInitialized(ref _router, async () => new IngressRouter(Topology, await GatewayAsync(CancellationToken.None).ConfigureAwait(false)))
            .WaitAsync(cancellationToken);
}
