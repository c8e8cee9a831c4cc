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
    private readonly Dictionary<Domain.VsId, string> _runsOn = [];
    private readonly Queue<VsMove> _recent = new();
    private readonly Dictionary<string, (long TakeOvers, long HandOvers)> _counts = new(StringComparer.Ordinal);

    /// <summary>How many moves <see cref="VsKeeperQueries.GetMoves"/> returns at most.</summary>
    public const int RecentMoves = 200;

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
        // Replies of the VSs: a VS answering from another member than before has moved (failover or rebalance).
        Receive<VirtualSystemReplies.Started>(OnStarted);
        Receive<VsKeeperQueries.GetMoves>(_ => Sender.Tell(new VsKeeperReplies.Moves(
            [.. _recent], [.. _counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => new MemberMoves(c.Key, c.Value.TakeOvers, c.Value.HandOvers))])));
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

    private void OnStarted(VirtualSystemReplies.Started started)
    {
        var had = _runsOn.TryGetValue(started.VsId, out var from);
        _runsOn[started.VsId] = started.Member;
        if (!had || from == started.Member)
            return;
        var config = _holder.Current;
        var states = ClusterView.MemberStates(Akka.Cluster.Cluster.Get(Context.System).State, config.Drained);
        var reason = !states.TryGetValue(new Domain.MemberName(from!), out var state)
            ? $"{from} left or failed"
            : state == Domain.Placement.MemberState.Draining
                ? $"{from} drained"
                : "placement changed (priority, distribution or failback)";
        var move = new VsMove(started.VsId, from!, started.Member, DateTime.UtcNow.Ticks, reason);
        _recent.Enqueue(move);
        while (_recent.Count > RecentMoves)
            _recent.Dequeue();
        _counts[started.Member] = (_counts.GetValueOrDefault(started.Member).TakeOvers + 1, _counts.GetValueOrDefault(started.Member).HandOvers);
        _counts[from!] = (_counts.GetValueOrDefault(from!).TakeOvers, _counts.GetValueOrDefault(from!).HandOvers + 1);
        _log.Info("VS {VsId} moved from {From} to {To}: {Reason}", started.VsId, from, started.Member, reason);
    }

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

/// <summary>Questions the VS keeper answers (through a singleton proxy to <c>/user/vsls-keeper</c>).</summary>
public static class VsKeeperQueries
{
    /// <summary>The VS moves the keeper saw; replied with <see cref="VsKeeperReplies.Moves"/>.</summary>
    public sealed record GetMoves : IVslsMessage
    {
        /// <summary>The only instance.</summary>
        public static GetMoves Instance { get; } = new();
    }
}

/// <summary>Replies of the VS keeper.</summary>
public static class VsKeeperReplies
{
    /// <summary>
    /// The last <see cref="VsKeeper.RecentMoves"/> moves, oldest first, and per member how many VSs it
    /// took over and handed over — since this keeper incarnation started (a new oldest member starts from zero).
    /// </summary>
    public sealed record Moves(VsMove[] Recent, MemberMoves[] Members) : IVslsMessage;
}

/// <summary>A VS that started answering from another member: a failover, a drain or a rebalance.</summary>
/// <param name="Vs">The VS.</param>
/// <param name="From">Where it ran before.</param>
/// <param name="To">Where it runs now.</param>
/// <param name="AtTicks">When the keeper saw it (UTC ticks; within one keeper interval of the move).</param>
/// <param name="Reason">Why, as far as the keeper can tell from the old member's state now.</param>
public sealed record VsMove(Domain.VsId Vs, string From, string To, long AtTicks, string Reason);

/// <summary>One member's VS moves in <see cref="VsKeeperReplies.Moves"/>.</summary>
/// <param name="Member">The member.</param>
/// <param name="TakeOvers">VSs that moved onto it (its failover counter).</param>
/// <param name="HandOvers">VSs that moved away from it.</param>
public sealed record MemberMoves(string Member, long TakeOvers, long HandOvers);
