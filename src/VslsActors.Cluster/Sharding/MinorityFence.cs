using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using VslsActors.Cluster.Hosting;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// Fences a member cut off from the majority (a network partition): while it sees fewer than half of
/// the Up/Leaving <c>vsls-member</c>s reachable (itself included), it stops every local VS actor, and
/// keeps stopping any that come back. The split-brain resolver (keep-majority) downs such a member
/// anyway, but each side decides on its own clock: the majority can down it, wait
/// <c>down-removal-margin</c> (200 ms here) and start its VSs before the minority has taken its own
/// decision and stopped its shard region — seconds in which a VS would be Active on both sides (the
/// multinode partition spec's checker saw the minority still running its VSs after the majority had it
/// Down). The fence acts when unreachability is observed, at least <c>stable-after</c> before the
/// majority may down the member. Nothing else changes: if the majority becomes reachable again (a blip),
/// the VSs run again on the next message (recovered from their journal); if not, the resolver downs the
/// member and it exits. Settings: <c>vsls.placement.minority-fence</c>.
/// </summary>
public sealed class MinorityFence : ReceiveActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
        private Tick() { }
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly TimeSpan _interval;
    private bool _fenced;

    /// <summary>Props from the system's config; null when the fence is disabled.</summary>
    public static Props? PropsFromConfig(Akka.Configuration.Config config)
    {
        const string section = "vsls.placement.minority-fence";
        if (!config.GetBoolean(section + ".enabled", true))
            return null;
        var interval = config.GetTimeSpan(section + ".check-interval", TimeSpan.FromMilliseconds(200), allowInfinite: false);
        return Props.Create(() => new MinorityFence(interval));
    }

    /// <summary>Creates the fence (use <see cref="PropsFromConfig"/>).</summary>
    public MinorityFence(TimeSpan interval)
    {
        _interval = interval;
        Receive<Tick>(_ => OnTick());
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart() => Timers.StartPeriodicTimer("tick", Tick.Instance, _interval);

    /// <summary>
    /// True when <paramref name="reachable"/> of <paramref name="members"/> is a strict minority. An even
    /// split is not fenced: keep-majority keeps the half with the lowest address, and fencing it would
    /// stop VSs on the side that survives.
    /// </summary>
    public static bool IsMinority(int reachable, int members) => members > 0 && reachable * 2 < members;

    private void OnTick()
    {
        var state = _cluster.State;
        if (state.Members.FirstOrDefault(m => m.Address == _cluster.SelfAddress) is not { Status: MemberStatus.Up or MemberStatus.Leaving })
            return; // joining, or already leaving the cluster for good: the resolver and the hand-off decide
        var members = state.Members
            .Where(m => m.Status is MemberStatus.Up or MemberStatus.Leaving && m.HasRole(VslsClusterOptions.MemberRole))
            .ToArray();
        var unreachable = state.Unreachable.Select(m => m.UniqueAddress).ToHashSet();
        var reachable = members.Count(m => !unreachable.Contains(m.UniqueAddress));
        if (IsMinority(reachable, members.Length))
        {
            if (!_fenced)
            {
                _fenced = true;
                MemberFenceState.Get(Context.System).Set(true);
                _log.Warning("this member reaches only {Reachable} of {Members} members (a partition, on the minority side): stopping its VS actors until the majority is reachable again or the split-brain resolver downs it",
                    reachable, members.Length);
            }
            // On every tick: a message from a local client may have started a VS again meanwhile.
            // Kill, not the hand-off stop: the majority may take over at any moment, and nothing more may be journaled here.
            Context.ActorSelection($"/system/sharding/{VslsHosting.ShardTypeName}/*/*").Tell(Kill.Instance);
        }
        else if (_fenced)
        {
            _fenced = false;
            MemberFenceState.Get(Context.System).Set(false);
            _log.Info("this member reaches {Reachable} of {Members} members again: its VSs may run again", reachable, members.Length);
        }
    }
}
