using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Registry;
using VslsActors.Cluster.Sharding;
using VslsActors.Domain;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;

namespace VslsActors.Node.Web;

/// <summary>
/// What the management API reads the cluster through: this member's ActorSystem (cluster state), the
/// <c>virtual-system</c> shard region (sharding stats, VS queries), the registry proxy (configuration,
/// changes, audit) and the configuration holder (the topology in effect). Every read is a snapshot
/// taken per request; nothing is cached here except the membership event relay.
/// </summary>
public sealed class ManagementContext
{
    private readonly ActorRegistry _registry;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<VsId, (string Member, long Packets, long AtTicks)> _lastSample = new();
    private ManagementEvents? _events;
    private IActorRef? _keeper;

    /// <summary>A context for the member of <paramref name="cluster"/>.</summary>
    public ManagementContext(ManagementOptions options, VslsClusterOptions cluster, ActorSystem system, ActorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        Options = options;
        Member = cluster.Member.Value;
        System = system;
        _registry = registry;
    }

    /// <summary>Endpoint, tokens, timeouts.</summary>
    public ManagementOptions Options { get; }

    /// <summary>This member's name (the <c>@member</c> of every change's <c>ChangedBy</c>).</summary>
    public string Member { get; }

    /// <summary>This member's actor system.</summary>
    public ActorSystem System { get; }

    /// <summary>The membership event relay (started on first use).</summary>
    public ManagementEvents Events => LazyInitializer.EnsureInitialized(ref _events, () => new ManagementEvents(System));

    /// <summary>The configuration in effect on this member (topology with the registry's settings, drained members).</summary>
    public VslsConfiguration Configuration => VslsConfigurationHolder.Get(System).Current;

    /// <summary>The cluster state as this member sees it.</summary>
    public ClusterEvent.CurrentClusterState ClusterState => Akka.Cluster.Cluster.Get(System).State;

    /// <summary>Asks the registry.</summary>
    public async Task<object> AskRegistryAsync(IRegistryCommand command, CancellationToken cancellationToken)
    {
        var proxy = await _registry.GetAsync<VslsRegistryProxy>(cancellationToken).ConfigureAwait(false);
        return await proxy.Ask<object>(command, Options.AskTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The VS moves the keeper singleton saw (empty when it does not answer within 3 s: a keeper hand-over).</summary>
    public async Task<VsKeeperReplies.Moves> MovesAsync(CancellationToken cancellationToken)
    {
        var keeper = LazyInitializer.EnsureInitialized(ref _keeper, () => System.ActorOf(
            Akka.Cluster.Tools.Singleton.ClusterSingletonProxy.Props("/user/" + VslsHosting.KeeperName,
                Akka.Cluster.Tools.Singleton.ClusterSingletonProxySettings.Create(System).WithRole(VslsClusterOptions.MemberRole)),
            "vsls-management-keeper-proxy"));
        try
        {
            return await keeper.Ask<VsKeeperReplies.Moves>(VsKeeperQueries.GetMoves.Instance, TimeSpan.FromSeconds(3), cancellationToken).ConfigureAwait(false);
        }
        catch (AskTimeoutException)
        {
            return new VsKeeperReplies.Moves([], []);
        }
    }

    /// <summary>Asks the shard region (or a VS through it).</summary>
    public async Task<T> AskRegionAsync<T>(object message, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var region = await _registry.GetAsync<VirtualSystemRegion>(cancellationToken).ConfigureAwait(false);
        return await region.Ask<T>(message, timeout ?? Options.AskTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Where each VS's shard runs now (member by shard id), from every region's stats.</summary>
    public async Task<Dictionary<string, MemberName?>> ShardMembersAsync(CancellationToken cancellationToken)
    {
        var stats = await AskRegionAsync<ClusterShardingStats>(new GetClusterShardingStats(Options.AskTimeout), cancellationToken).ConfigureAwait(false);
        var byAddress = ClusterView.MembersByAddress(ClusterState);
        var result = new Dictionary<string, MemberName?>();
        foreach (var (address, region) in stats.Regions)
        {
            var member = byAddress.TryGetValue(address, out var m) ? ClusterView.NameOf(m) : null;
            foreach (var shard in region.Stats.Keys)
                result[shard] = member;
        }
        return result;
    }

    /// <summary>The member states placement sees, and the placement it computes — as the allocation strategy does.</summary>
    public async Task<(Dictionary<MemberName, MemberState> States, Placement Placement, Dictionary<string, MemberName?> Running)> PlacementAsync(CancellationToken cancellationToken)
    {
        var config = Configuration;
        var states = ClusterView.MemberStates(ClusterState, config.Drained);
        var running = await ShardMembersAsync(cancellationToken).ConfigureAwait(false);
        var current = config.Topology.Vsls.Failback == FailbackMode.ActiveUp ? ShardPlacement.Observed(running) : null;
        return (states, PlacementCalculator.Compute(config.Topology, states, current), running);
    }

    /// <summary>The cluster member named (role <c>member:&lt;name&gt;</c>) or addressed by <paramref name="nameOrAddress"/>, or null.</summary>
    public Member? FindMember(string nameOrAddress)
    {
        var state = ClusterState;
        foreach (var m in state.Members.Concat(state.Unreachable))
        {
            if (ClusterView.NameOf(m)?.Value == nameOrAddress || m.Address.ToString() == nameOrAddress)
                return m;
        }
        return null;
    }

    /// <summary>
    /// Packets per second of a VS since the previous status this member's API read of it (null on the
    /// first read, or when the VS moved since: its totals restart with each incarnation).
    /// </summary>
    public double? PacketRate(VirtualSystemReplies.Status status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var now = DateTime.UtcNow.Ticks;
        var packets = status.Totals.Total;
        var sample = (status.Member, packets, now);
        if (!_lastSample.TryGetValue(status.VsId, out var previous))
        {
            _lastSample[status.VsId] = sample;
            return null;
        }
        _lastSample[status.VsId] = sample;
        var seconds = TimeSpan.FromTicks(now - previous.AtTicks).TotalSeconds;
        if (previous.Member != status.Member || packets < previous.Packets || seconds <= 0)
            return null;
        return Math.Round((packets - previous.Packets) / seconds, 1);
    }

    /// <summary>Whether <paramref name="vs"/> is configured.</summary>
    public bool IsConfigured(VsId vs) => Configuration.Topology.Find(vs) is not null;

    /// <summary>The configured members.</summary>
    public ImmutableArray<MemberName> ConfiguredMembers => Configuration.Topology.Members;

    /// <summary>The topology in effect.</summary>
    public Topology Topology => Configuration.Topology;
}
