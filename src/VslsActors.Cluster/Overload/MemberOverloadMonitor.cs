using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Configuration;
using Akka.Event;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Registry;
using VslsActors.Domain;
using VslsActors.Domain.Overload;

namespace VslsActors.Cluster.Overload;

/// <summary>The settings of <see cref="MemberOverloadMonitor"/> (HOCON <c>vsls.overload</c>, hocon/overload.conf).</summary>
/// <param name="Enabled">Whether the member sheds at all (off: it never leaves <see cref="OverloadLevel.Normal"/>).</param>
/// <param name="Tick">How often the member is sampled.</param>
/// <param name="ReportEvery">How often the state is published to the other members when it does not change.</param>
/// <param name="Thresholds">The thresholds and hold times.</param>
public sealed record OverloadMonitorSettings(bool Enabled, TimeSpan Tick, TimeSpan ReportEvery, OverloadThresholds Thresholds)
{
    /// <summary>The HOCON section.</summary>
    public const string Section = "vsls.overload";

    /// <summary>
    /// Reads <see cref="Section"/> of <paramref name="config"/> (the shipped defaults for keys left out);
    /// throws <see cref="ArgumentException"/> with one line naming the key when a value is unusable.
    /// </summary>
    public static OverloadMonitorSettings FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var d = OverloadThresholds.Default;
        TimeSpan Time(string key, TimeSpan fallback) => config.GetTimeSpan($"{Section}.{key}", fallback, allowInfinite: false);
        var settings = new OverloadMonitorSettings(
            config.GetBoolean(Section + ".enabled", true),
            Time("tick", TimeSpan.FromMilliseconds(250)),
            Time("report-every", TimeSpan.FromSeconds(1)),
            new OverloadThresholds(
                Time("enter-latency", d.EnterLatency),
                Time("exit-latency", d.ExitLatency),
                config.GetLong(Section + ".enter-queue", d.EnterQueue),
                config.GetLong(Section + ".exit-queue", d.ExitQueue),
                Time("enter-hold", d.EnterHold),
                Time("escalate-hold", d.EscalateHold),
                Time("exit-hold", d.ExitHold)));
        if (settings.Tick <= TimeSpan.Zero)
            throw new ArgumentException($"{Section}.tick: must be > 0 (got {OverloadThresholds.Ms(settings.Tick)})");
        if (settings.ReportEvery <= TimeSpan.Zero)
            throw new ArgumentException($"{Section}.report-every: must be > 0 (got {OverloadThresholds.Ms(settings.ReportEvery)})");
        if (settings.Thresholds.Problem() is { } problem)
            throw new ArgumentException($"{Section}.{problem}");
        return settings;
    }
}

/// <summary>
/// Samples this member every <see cref="OverloadMonitorSettings.Tick"/> (the VS meters in
/// <see cref="MemberOverloadState"/>), runs the pure <see cref="OverloadMonitor"/> on the sample, puts the
/// level and over-share set in effect for the VS actors, logs each level change with its reason, and
/// publishes a <see cref="MemberOverloadReport"/> on topic <see cref="Topic"/> (at each change and every
/// <see cref="OverloadMonitorSettings.ReportEvery"/>), which every member's monitor keeps for its
/// management API. One per member that hosts VSs.
/// </summary>
public sealed class MemberOverloadMonitor : ReceiveActor, IWithTimers
{
    /// <summary>The DistributedPubSub topic of <see cref="MemberOverloadReport"/>.</summary>
    public const string Topic = "vsls-overload";

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
        private Tick() { }
    }

    private readonly MemberName _member;
    private readonly OverloadMonitorSettings _settings;
    private readonly OverloadMonitor _monitor;
    private readonly MemberOverloadState _state;
    private readonly VslsConfigurationHolder _holder;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<VsTickLoad> _loads = [];
    private IActorRef _mediator = ActorRefs.Nobody;
    private long _sinceTicks;
    private TimeSpan? _lastReport;

    /// <summary>Props of the monitor of <paramref name="member"/>.</summary>
    public static Props Props(MemberName member, OverloadMonitorSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Akka.Actor.Props.Create(() => new MemberOverloadMonitor(member, settings));
    }

    /// <summary>Use <see cref="Props"/>; public only because Akka creates actors through a public constructor.</summary>
    public MemberOverloadMonitor(MemberName member, OverloadMonitorSettings settings)
    {
        _member = member;
        _settings = settings;
        _monitor = new OverloadMonitor(settings.Thresholds);
        _state = MemberOverloadState.Get(Context.System);
        _holder = VslsConfigurationHolder.Get(Context.System);
        Receive<Tick>(_ => OnTick());
        Receive<MemberOverloadReport>(report => _state.Keep(report));
        Receive<SubscribeAck>(_ => { });
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    protected override void PreStart()
    {
        _state.ReportMaxAge = _settings.ReportEvery * 5;
        _mediator = DistributedPubSub.Get(Context.System).Mediator;
        _mediator.Tell(new Subscribe(Topic, Self));
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, _settings.Tick);
    }

    /// <inheritdoc />
    protected override void PostStop() => _state.Set(OverloadLevel.Normal, []);

    private void OnTick()
    {
        var now = _clock.Elapsed;
        var topology = _holder.IsInitialized ? _holder.Current.Topology : null;
        var latency = TimeSpan.Zero;
        long queued = 0;
        _loads.Clear();
        foreach (var meter in _state.Meters)
        {
            var (attempts, vsLatency, vsQueued) = meter.Sample();
            if (vsLatency > latency)
                latency = vsLatency;
            queued += vsQueued;
            var weight = topology?.Find(meter.Vs)?.Weight ?? 1;
            _loads.Add(new VsTickLoad(meter.Vs, weight, attempts));
        }
        var sample = new OverloadSample(now, latency, queued, _loads);
        var change = _settings.Enabled ? _monitor.Observe(sample) : null;
        var overShare = _settings.Enabled ? _monitor.OverShare : OverloadMonitor.OverShareOf(_loads);
        _state.Set(_monitor.Level, overShare);
        if (change is not null)
        {
            _sinceTicks = DateTime.UtcNow.Ticks;
            if (change.To > change.From)
                _log.Warning("Member {Member} overloaded: level {From} -> {To} ({Level}): {Reason}; over-share VSs: [{OverShare}]",
                    _member, (int)change.From, (int)change.To, change.To, change.Reason, string.Join(", ", overShare));
            else
                _log.Info("Member {Member} recovering: level {From} -> {To} ({Level}): {Reason}",
                    _member, (int)change.From, (int)change.To, change.To, change.Reason);
        }
        if (change is not null || _lastReport is not { } last || now - last >= _settings.ReportEvery)
        {
            _lastReport = now;
            var report = new MemberOverloadReport(_member.Value, (int)_monitor.Level, _monitor.Reason, _sinceTicks,
                (long)latency.TotalMicroseconds, queued, [.. overShare], DateTime.UtcNow.Ticks);
            _state.Keep(report);
            _mediator.Tell(new Publish(Topic, report));
        }
    }
}
