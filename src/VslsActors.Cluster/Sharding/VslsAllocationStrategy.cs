using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using VslsActors.Cluster.Registry;
using VslsActors.Domain;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// The VSLS shard allocation strategy of the <c>virtual-system</c> region: a VS's shard goes to the
/// member placement (<see cref="PlacementCalculator.Compute"/>) makes Active, and a rebalance moves
/// only what placement moves — failback under <c>primary-up</c>, drains and registry changes — at
/// most <c>vsls.placement.max-moves-per-rebalance</c> at a time. It runs inside the shard
/// coordinator (on the oldest <c>vsls-member</c>), reads the configuration from that member's
/// <see cref="VslsConfigurationHolder"/> and the member states from its cluster view.
/// </summary>
public sealed class VslsAllocationStrategy : IActorSystemDependentAllocationStrategy
{
    private Akka.Cluster.Cluster? _cluster;
    private VslsConfigurationHolder? _holder;
    private ILoggingAdapter? _log;
    private PlacementSettings _settings = PlacementSettings.Default;
    private volatile bool _registryWaitOver;
    // Shards whose Active member had no region when first asked, since when (Environment.TickCount64).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _pendingSince = new();

    /// <inheritdoc />
    public void Start(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        _cluster = Akka.Cluster.Cluster.Get(system);
        _holder = VslsConfigurationHolder.Get(system);
        _settings = PlacementSettings.FromConfig(system.Settings.Config);
        _log = Logging.GetLogger(system, typeof(VslsAllocationStrategy));
    }

    /// <inheritdoc />
    public async Task<IActorRef> AllocateShard(IActorRef requester, string shardId, IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations)
    {
        await AwaitRegistryOnce().ConfigureAwait(false);
        var view = Observe(currentShardAllocations);
        var placement = VsId.TryParse(shardId, out var vs) ? view.Placement.Find(vs) : null;
        if (placement?.Active is { } wanted && !view.RegionsByMember.ContainsKey(wanted) && WaitForRegion(shardId))
        {
            // The Active member is Up but its region has not registered yet (it just joined). Under
            // active-up a VS allocated elsewhere now would stay there for good, so fail this
            // allocation: the region asks again after akka.cluster.sharding.retry-interval.
            throw new InvalidOperationException($"VS {shardId}: the region of its Active member {wanted} is not registered yet; retrying");
        }
        _pendingSince.TryRemove(shardId, out _);
        var home = ShardPlacement.ChooseHome(placement, view.RegionsByMember.Keys.ToHashSet());
        if (home is { } member)
        {
            _log?.Debug("Allocating VS {VsId} to {Member}", shardId, member);
            return view.RegionsByMember[member];
        }
        // No candidate of the VS has a region (unknown VS, or none of its members Up yet): the
        // requester if it can host, else any region; a later rebalance corrects it.
        var fallback = currentShardAllocations.ContainsKey(requester) ? requester : currentShardAllocations.Keys.First();
        _log?.Warning("No placement candidate of VS {VsId} has a region; allocating it to {Region}", shardId, fallback.Path);
        return fallback;
    }

    /// <inheritdoc />
    public Task<IImmutableSet<string>> Rebalance(IImmutableDictionary<IActorRef, IImmutableList<string>> currentShardAllocations, IImmutableSet<string> rebalanceInProgress)
    {
        if (!_registryWaitOver && !(_holder?.RegistryLoaded.IsCompleted ?? true))
            return Task.FromResult<IImmutableSet<string>>(ImmutableHashSet<string>.Empty);
        var view = Observe(currentShardAllocations);
        var moves = ShardPlacement.ShardsToMove(
            view.Placement, view.ShardMembers, view.RegionsByMember.Keys.ToHashSet(), rebalanceInProgress.ToHashSet(), _settings.MaxMovesPerRebalance);
        if (moves.Length > 0)
            _log?.Info("Rebalance moves VSs [{VsIds}] to their Active members", string.Join(", ", moves));
        return Task.FromResult<IImmutableSet<string>>(moves.ToImmutableHashSet());
    }

    /// <summary>True while <paramref name="shardId"/> has waited less than await-region-timeout for its Active member's region.</summary>
    private bool WaitForRegion(string shardId)
    {
        var now = Environment.TickCount64;
        var since = _pendingSince.GetOrAdd(shardId, now);
        return now - since < (long)_settings.AwaitRegionTimeout.TotalMilliseconds;
    }

    private async Task AwaitRegistryOnce()
    {
        if (_registryWaitOver || _holder is null)
            return;
        var loaded = _holder.RegistryLoaded;
        if (!loaded.IsCompleted)
        {
            // After a full restart the journal may hold other priorities than the file: waiting a
            // little for the registry avoids starting VSs where they would be moved from at once.
            var done = await Task.WhenAny(loaded, Task.Delay(_settings.AwaitRegistryTimeout)).ConfigureAwait(false);
            if (done != loaded)
                _log?.Warning("The VSLS registry did not answer within {Timeout}; allocating from the topology file", _settings.AwaitRegistryTimeout);
        }
        _registryWaitOver = true;
    }

    private sealed record View(
        Placement Placement,
        Dictionary<MemberName, IActorRef> RegionsByMember,
        Dictionary<string, MemberName?> ShardMembers);

    private View Observe(IImmutableDictionary<IActorRef, IImmutableList<string>> allocations)
    {
        var cluster = _cluster ?? throw new InvalidOperationException("VslsAllocationStrategy used before Start(ActorSystem)");
        var holder = _holder!;
        var state = cluster.State;
        var config = holder.Current;
        var states = ClusterView.MemberStates(state, config.Drained);
        var byAddress = ClusterView.MembersByAddress(state);

        var regions = new Dictionary<MemberName, IActorRef>();
        var shardMembers = new Dictionary<string, MemberName?>();
        foreach (var (region, shards) in allocations)
        {
            var member = ClusterView.MemberOf(region, cluster.SelfAddress, byAddress);
            // Only regions of Up (or Draining) members may receive or give away shards.
            if (member is { } m && states.ContainsKey(m))
                regions[m] = region;
            else
                member = null;
            foreach (var shard in shards)
                shardMembers[shard] = member;
        }
        var current = config.Topology.Vsls.Failback == FailbackMode.ActiveUp ? ShardPlacement.Observed(shardMembers) : null;
        var placement = PlacementCalculator.Compute(config.Topology, states, current);
        return new View(placement, regions, shardMembers);
    }
}
