using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Cluster;
using VslsActors.Cluster.Sharding;

namespace VslsActors.Node.Web;

/// <summary>One membership event as the API streams it (<c>/api/v1/cluster/events</c>) and <c>ha stat</c> shows it.</summary>
/// <param name="Kind">member-up, member-joined, member-left, member-exited, member-removed, member-downed, unreachable, reachable, leader-changed, member-weakly-up.</param>
/// <param name="Member">The VSLS member name (null for a driver or another node).</param>
/// <param name="Address">The cluster address.</param>
/// <param name="Status">The member's status after the event.</param>
/// <param name="At">When this member saw it (UTC).</param>
public sealed record MembershipEvent(string Kind, string? Member, string? Address, string? Status, DateTimeOffset At);

/// <summary>
/// Relays this member's view of cluster membership events to the API's server-sent-event streams,
/// and remembers each member's last event (the "last state change" of <c>ha stat</c>). One
/// subscriber actor per member process; each stream gets a bounded channel (a slow reader loses
/// events rather than growing memory without end).
/// </summary>
public sealed class ManagementEvents
{
    private readonly ConcurrentDictionary<Channel<MembershipEvent>, bool> _subscribers = new();
    private readonly ConcurrentDictionary<string, MembershipEvent> _lastByAddress = new();

    /// <summary>Starts the relay in <paramref name="system"/>.</summary>
    public ManagementEvents(ActorSystem system)
    {
        system.ActorOf(Props.Create(() => new Relay(this)), "vsls-management-events");
    }

    /// <summary>Every member's last event seen since this member started, by address.</summary>
    public IReadOnlyDictionary<string, MembershipEvent> LastByAddress => _lastByAddress;

    /// <summary>A stream of the events from now on; dispose the returned handle to stop it.</summary>
    public (ChannelReader<MembershipEvent> Reader, IDisposable Subscription) Subscribe()
    {
        var channel = Channel.CreateBounded<MembershipEvent>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
        _subscribers[channel] = true;
        return (channel.Reader, new Unsubscribe(() =>
        {
            _subscribers.TryRemove(channel, out _);
            channel.Writer.TryComplete();
        }));
    }

    /// <summary>The JSON of <paramref name="e"/> (one SSE data line).</summary>
    public static string Json(MembershipEvent e) => JsonSerializer.Serialize(e, ManagementJson.Options);

    private void Publish(MembershipEvent e)
    {
        // A leader change names the leader, but it is not a change of that member's own state.
        if (e.Address is { } address && e.Kind != "leader-changed")
            _lastByAddress[address] = e;
        foreach (var channel in _subscribers.Keys)
            channel.Writer.TryWrite(e);
    }

    private sealed class Unsubscribe(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    private sealed class Relay : ReceiveActor
    {
        public Relay(ManagementEvents events)
        {
            Receive<ClusterEvent.IMemberEvent>(e => events.Publish(Of(KindOf(e), e.Member)));
            Receive<ClusterEvent.UnreachableMember>(e => events.Publish(Of("unreachable", e.Member)));
            Receive<ClusterEvent.ReachableMember>(e => events.Publish(Of("reachable", e.Member)));
            Receive<ClusterEvent.LeaderChanged>(e => events.Publish(new MembershipEvent("leader-changed", null, e.Leader?.ToString(), null, DateTimeOffset.UtcNow)));
            Receive<ClusterEvent.CurrentClusterState>(_ => { });
        }

        protected override void PreStart() =>
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.LeaderChanged));

        protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

        private static MembershipEvent Of(string kind, Member m) =>
            new(kind, ClusterView.NameOf(m)?.Value, m.Address.ToString(), m.Status.ToString(), DateTimeOffset.UtcNow);

        private static string KindOf(ClusterEvent.IMemberEvent e) => e switch
        {
            ClusterEvent.MemberUp => "member-up",
            ClusterEvent.MemberJoined => "member-joined",
            ClusterEvent.MemberLeft => "member-left",
            ClusterEvent.MemberExited => "member-exited",
            ClusterEvent.MemberRemoved => "member-removed",
            ClusterEvent.MemberDowned => "member-downed",
            ClusterEvent.MemberWeaklyUp => "member-weakly-up",
            _ => "member-" + e.Member.Status.ToString().ToLowerInvariant(),
        };
    }
}
