using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Registry;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// Keeps every configured VS running without waiting for traffic: a cluster singleton (role
/// <c>vsls-member</c>) that sends <see cref="VirtualSystemCommands.EnsureStarted"/> for every VS of
/// the current configuration through the <c>virtual-system</c> region every
/// <c>vsls.placement.keeper-interval</c>, and shortly after every membership or reachability change
/// (debounced), so a VS comes up on its Active member as soon as the cluster forms and again right
/// after a failover or a rebalance. Messages for a VS whose shard is moving are buffered by the region.
/// <para>Cluster formation: on a freshly started cluster the keeper waits until every configured member
/// is Up (or its own member has run for <c>vsls.placement.formation-timeout</c>), so that VSs do not
/// start on whichever member came first and, under <c>active-up</c>, stay there. A keeper that takes
/// over on a long-running member (the oldest died) does not wait.</para>
/// </summary>
public sealed class VsKeeper : ReceiveActor, IWithTimers
{
    /// <summary>Periodic and event-driven trigger of one round.</summary>
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
        private Tick() { }
    }

    private const string PeriodicKey = "periodic";
    private const string KickKey = "kick";
    private static readonly TimeSpan KickDelay = TimeSpan.FromMilliseconds(20);

    private readonly IActorRef _region;
    private readonly VslsConfigurationHolder _holder;
    private readonly PlacementSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _formed;

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the keeper that drives <paramref name="region"/>.</summary>
    public static Props Props(IActorRef region, VslsConfigurationHolder holder, PlacementSettings settings) =>
        Akka.Actor.Props.Create(() => new VsKeeper(region, holder, settings));

    /// <summary>Creates the keeper (use <see cref="Props"/>).</summary>
    public VsKeeper(IActorRef region, VslsConfigurationHolder holder, PlacementSettings settings)
    {
        _region = region;
        _holder = holder;
        _settings = settings;

        Receive<Tick>(_ => EnsureAllStarted());
        Receive<ClusterEvent.IMemberEvent>(_ => Kick());
        Receive<ClusterEvent.IReachabilityEvent>(_ => Kick());
        Receive<ClusterEvent.CurrentClusterState>(_ => Kick());
        // Replies of the VSs; the keeper only cares that they run.
        Receive<VirtualSystemReplies.Started>(_ => { });
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer(PeriodicKey, Tick.Instance, TimeSpan.Zero, _settings.KeeperInterval);
        _log.Info("VS keeper started; ensuring every VS runs every {Interval}", _settings.KeeperInterval);
    }

    /// <inheritdoc />
    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    private void Kick() => Timers.StartSingleTimer(KickKey, Tick.Instance, KickDelay);

    private void EnsureAllStarted()
    {
        var topology = _holder.Current.Topology;
        if (!_formed)
        {
            var up = ClusterView.MemberStates(Akka.Cluster.Cluster.Get(Context.System).State, new HashSet<Domain.MemberName>());
            var allUp = topology.Members.All(up.ContainsKey);
            if (!allUp && Context.System.Uptime < _settings.FormationTimeout)
                return;
            _formed = true;
            _log.Info("Starting every VS ({Reason})", allUp ? "every configured member is Up" : "formation timeout reached");
        }
        foreach (var vs in topology.VirtualSystems)
            _region.Tell(new VirtualSystemCommands.EnsureStarted(vs.Id), Self);
    }
}
