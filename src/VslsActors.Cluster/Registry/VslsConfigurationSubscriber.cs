using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using VslsActors.Domain.Configuration;

namespace VslsActors.Cluster.Registry;

/// <summary>
/// Keeps one member's <see cref="VslsConfigurationHolder"/> up to date with the registry. Two paths,
/// so that neither a lost message nor a late subscription leaves a member behind: pushed updates on
/// DistributedPubSub topic <c>vsls-configuration</c> (milliseconds after a change) and a pull from the
/// registry every <c>vsls.placement.config-refresh-interval</c>. Older versions are ignored.
/// </summary>
public sealed class VslsConfigurationSubscriber : ReceiveActor, IWithTimers
{
    private sealed class Refresh
    {
        public static readonly Refresh Instance = new();
        private Refresh() { }
    }

    private readonly IActorRef _registry;
    private readonly VslsConfigurationHolder _holder;
    private readonly TimeSpan _interval;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _slow;

    /// <summary>How often to ask before the registry's first answer.</summary>
    private static readonly TimeSpan FastInterval = TimeSpan.FromMilliseconds(250);

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of the subscriber that asks <paramref name="registry"/> (the singleton proxy).</summary>
    public static Props Props(IActorRef registry, VslsConfigurationHolder holder, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new VslsConfigurationSubscriber(registry, holder, interval));

    public VslsConfigurationSubscriber(IActorRef registry, VslsConfigurationHolder holder, TimeSpan interval)
    {
        _registry = registry;
        _holder = holder;
        _interval = interval;

        Receive<Refresh>(_ => _registry.Tell(RegistryCommands.GetConfiguration.Instance, Self));
        Receive<RegistryReplies.CurrentConfiguration>(Apply);
        Receive<SubscribeAck>(_ => { });
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        DistributedPubSub.Get(Context.System).Mediator.Tell(new Subscribe(VslsRegistryActor.Topic, Self));
        // Until the registry answers, ask more often: the first allocation waits for it.
        Timers.StartPeriodicTimer("refresh", Refresh.Instance, TimeSpan.Zero, FastInterval < _interval ? FastInterval : _interval);
    }

    private void Apply(RegistryReplies.CurrentConfiguration c)
    {
        try
        {
            if (_holder.TryUpdate(c.Version, c.ConfigText, c.DrainedMembers ?? []))
            {
                _log.Info("VSLS configuration version {Version} applied", c.Version);
                Context.System.EventStream.Publish(new VslsConfigurationApplied(_holder.Current));
            }
        }
        catch (ConfigException e)
        {
            _log.Error("VSLS configuration version {Version} does not fit this member's topology file: {Problem}", c.Version, e.Message);
        }
        if (!_slow && _holder.Current.FromRegistry)
        {
            _slow = true;
            Timers.StartPeriodicTimer("refresh", Refresh.Instance, _interval, _interval);
        }
    }
}
