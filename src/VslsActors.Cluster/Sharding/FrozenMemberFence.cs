using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using VslsActors.Cluster.Hosting;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// Fences a member that wakes up after being frozen (SIGSTOP, a suspended VM, a stop-the-world pause)
/// for longer than the others tolerate: the failure detector's <c>acceptable-heartbeat-pause</c> plus
/// the split-brain resolver's <c>stable-after</c>. By then the others have downed it and run its VSs;
/// the woken member still believes itself Up, and its shard region keeps its VS actors running until
/// it learns otherwise — seconds in which a VS is Active on two members (found by the multinode
/// checker, docs/multinode.md). A timer ticks every <c>check-interval</c>; a tick that comes later than
/// the threshold proves the process did not run meanwhile, so it stops every local VS actor at once
/// (<see cref="Kill"/>: no hand-off, nothing more journaled) and downs itself, which ends the process
/// with exit code RemovedFromCluster. Settings: <c>vsls.placement.frozen-member-fence</c>.
/// </summary>
public sealed class FrozenMemberFence : ReceiveActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
        private Tick() { }
    }

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly TimeSpan _interval;
    private readonly TimeSpan _threshold;
    private TimeSpan _last;
    private bool _fenced;

    /// <summary>Props from the system's config; null when the fence is disabled.</summary>
    public static Props? PropsFromConfig(Akka.Configuration.Config config)
    {
        const string section = "vsls.placement.frozen-member-fence";
        if (!config.GetBoolean(section + ".enabled", true))
            return null;
        var interval = config.GetTimeSpan(section + ".check-interval", TimeSpan.FromMilliseconds(200), allowInfinite: false);
        var pause = config.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause", TimeSpan.FromSeconds(3), allowInfinite: false);
        var stable = config.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after", TimeSpan.FromSeconds(20), allowInfinite: false);
        return Props.Create(() => new FrozenMemberFence(interval, pause + stable));
    }

    /// <summary>Creates the fence (use <see cref="PropsFromConfig"/>).</summary>
    public FrozenMemberFence(TimeSpan interval, TimeSpan threshold)
    {
        _interval = interval;
        _threshold = threshold;
        Receive<Tick>(_ => OnTick());
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        _last = _clock.Elapsed;
        Timers.StartPeriodicTimer("tick", Tick.Instance, _interval);
    }

    private void OnTick()
    {
        var now = _clock.Elapsed;
        var gap = now - _last;
        _last = now;
        if (_fenced || gap <= _threshold)
            return;
        _fenced = true;
        MemberFenceState.Get(Context.System).Set(true); // for good: this member downs itself now
        _log.Warning("this member did not run for {Gap} (more than acceptable-heartbeat-pause + stable-after = {Threshold}): the others have likely downed it and run its VSs; stopping its VS actors and downing itself",
            gap, _threshold);
        // Kill, not the hand-off stop: nothing more may be journaled by an owner that has been replaced.
        Context.ActorSelection($"/system/sharding/{VslsHosting.ShardTypeName}/*/*").Tell(Kill.Instance);
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        cluster.Down(cluster.SelfAddress);
    }
}
