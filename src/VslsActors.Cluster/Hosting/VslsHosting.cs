using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Hosting.SBR;
using Akka.Cluster.Sharding;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using VslsActors.Cluster.Overload;
using VslsActors.Cluster.Persistence;
using VslsActors.Cluster.Registry;
using VslsActors.Cluster.Serialization;
using VslsActors.Cluster.Sharding;
using VslsActors.Cluster.VirtualSystems;
using VslsActors.Domain;

namespace VslsActors.Cluster.Hosting;

/// <summary>Akka.Hosting wiring of a VSLS member or driver.</summary>
public static class VslsHosting
{
    /// <summary>Sharding type name of the VS entities.</summary>
    public const string ShardTypeName = "virtual-system";

    /// <summary>Name of the registry singleton manager (<c>/user/vsls-registry</c>).</summary>
    public const string RegistryName = "vsls-registry";

    /// <summary>Name of the VS keeper singleton manager (<c>/user/vsls-keeper</c>).</summary>
    public const string KeeperName = "vsls-keeper";

    /// <summary>Role a driver (traffic source, no VS) carries instead of <c>vsls-member</c>.</summary>
    public const string DriverRole = "vsls-driver";

    /// <summary>
    /// Wires a whole VSLS member (or driver) into Akka.Hosting: remoting, clustering with roles and
    /// split-brain resolver, persistence, serialization, the <c>virtual-system</c> shard region (or
    /// proxy) with the VSLS allocation strategy, the registry singleton and the VS keeper.
    /// <paramref name="entityProps"/> overrides the VS entity (tests only).
    /// </summary>
    /// <remarks>
    /// HOCON precedence, highest first: <see cref="VslsClusterOptions.ExtraHocon"/>; the persistence
    /// settings of <see cref="VslsClusterOptions.Database"/>; hocon/vsls.conf (when embedded);
    /// hocon/overload.conf; hocon/placement.conf; hocon/akka.conf; what WithRemoting/WithClustering generate; Akka's own
    /// sharding, singleton and pub-sub defaults.
    /// </remarks>
    public static AkkaConfigurationBuilder AddVsls(this AkkaConfigurationBuilder builder, VslsClusterOptions options,
        Func<VsId, Props>? entityProps = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        var member = options.Member;
        var hosts = options.HostsVirtualSystems;
        string[] roles = hosts
            ? [VslsClusterOptions.MemberRole, VslsClusterOptions.MemberNameRolePrefix + member]
            : [DriverRole];

        if (options.Tls is { } tls)
            builder.WithRemoting(VslsTls.RemoteOptions(options.Host, options.Port, tls));
        else
            builder.WithRemoting(options.Host, options.Port);
        builder
            .WithClustering(new ClusterOptions
            {
                // Roles are set in HOCON below, quoted: ClusterOptions.Roles writes them unquoted,
                // and 'member:<name>' contains a ':' that HOCON then cannot parse.
                SeedNodes = [.. options.SeedNodes],
                SplitBrainResolver = new KeepMajorityOption(),
            });

        // Prepend = takes precedence over everything added before; the last one added wins.
        builder
            .AddHocon(ClusterSharding.DefaultConfig(), HoconAddMode.Append)
            .AddHocon(ClusterSingleton.DefaultConfig(), HoconAddMode.Append)
            .AddHocon(DistributedPubSub.DefaultConfig(), HoconAddMode.Append)
            .AddHocon(VslsHocon.Load("akka.conf"), HoconAddMode.Prepend)
            .AddHocon(VslsHocon.Load("placement.conf"), HoconAddMode.Prepend)
            .AddHocon(VslsHocon.Load("overload.conf"), HoconAddMode.Prepend);
        builder.AddHocon(ConfigurationFactory.ParseString(
            "akka.cluster.roles = [" + string.Join(", ", roles.Select(r => "\"" + r + "\"")) + "]"), HoconAddMode.Prepend);
        if (VslsHocon.TryRead("vsls.conf") is { } vsls)
            builder.AddHocon(ConfigurationFactory.ParseString(vsls), HoconAddMode.Prepend);
        builder.AddHocon(VslsPersistence.Hocon(options.Database), HoconAddMode.Prepend);
        // SQLite: synchronous=NORMAL on the plugins' connections (measured: the FULL default's fsync per commit throttled every journal write).
        if (SqliteConnectionPragmas.SetupFor(options.Database) is { } sqliteSetup)
            builder.AddSetup(sqliteSetup);
        if (!string.IsNullOrWhiteSpace(options.ExtraHocon))
            builder.AddHocon(ConfigurationFactory.ParseString(options.ExtraHocon), HoconAddMode.Prepend);

        builder.AddVslsSerialization();

        builder.StartActors(async (system, registry) =>
        {
            var settings = PlacementSettings.FromConfig(system.Settings.Config);
            var holder = VslsConfigurationHolder.Get(system);
            holder.Initialize(options.Topology);

            // Registry: the singleton on the oldest member, a proxy everywhere, a subscriber per member.
            if (hosts)
            {
                system.ActorOf(ClusterSingletonManager.Props(
                    VslsRegistryActor.Props(options.Topology),
                    PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system).WithRole(VslsClusterOptions.MemberRole)), RegistryName);
            }
            var registryProxy = system.ActorOf(ClusterSingletonProxy.Props(
                "/user/" + RegistryName,
                ClusterSingletonProxySettings.Create(system).WithRole(VslsClusterOptions.MemberRole)), RegistryName + "-proxy");
            registry.Register<VslsRegistryProxy>(registryProxy);
            system.ActorOf(VslsConfigurationSubscriber.Props(registryProxy, holder, settings.ConfigRefreshInterval), "vsls-configuration");

            var extractor = new VirtualSystemMessageExtractor(holder.IsConfigured);
            var sharding = ClusterSharding.Get(system);
            IActorRef region;
            if (hosts)
            {
                VirtualSystemSettings? vsSettings = null;
                Props PropsOf(string entityId)
                {
                    var vs = new VsId(int.Parse(entityId, System.Globalization.CultureInfo.InvariantCulture));
                    if (entityProps is not null)
                        return entityProps(vs);
                    vsSettings ??= VirtualSystemSettings.FromConfig(system.Settings.Config);
                    // The configuration in effect (the registry's limits over the file's), not the file alone;
                    // the VS follows later changes itself (VslsConfigurationApplied).
                    var config = holder.Current.Topology.Find(vs)
                        ?? throw new InvalidOperationException($"virtual system {vs} is not configured");
                    return VirtualSystemActor.Props(config, member, vsSettings);
                }

                region = await sharding.StartAsync(
                    ShardTypeName,
                    PropsOf,
                    ClusterShardingSettings.Create(system).WithRole(VslsClusterOptions.MemberRole),
                    extractor,
                    new VslsAllocationStrategy(),
                    // VS actors finish their batches and journal writes before they stop (see
                    // HandOffStop); a test's stand-in entity stops the usual way.
                    entityProps is null ? VirtualSystemActor.HandOffStop.Instance : PoisonPill.Instance).ConfigureAwait(false);
            }
            else
            {
                region = await sharding.StartProxyAsync(ShardTypeName, VslsClusterOptions.MemberRole, extractor).ConfigureAwait(false);
            }
            registry.Register<VirtualSystemRegion>(region);

            if (hosts && ClosedPortDowning.PropsFromConfig(system.Settings.Config) is { } downing)
                system.ActorOf(downing, "vsls-closed-port-downing");
            if (hosts && FrozenMemberFence.PropsFromConfig(system.Settings.Config) is { } fence)
                system.ActorOf(fence, "vsls-frozen-member-fence");
            if (hosts && MinorityFence.PropsFromConfig(system.Settings.Config) is { } minorityFence)
                system.ActorOf(minorityFence, "vsls-minority-fence");
            if (hosts)
                system.ActorOf(MemberOverloadMonitor.Props(member, OverloadMonitorSettings.FromConfig(system.Settings.Config)), "vsls-overload");

            if (hosts)
            {
                system.ActorOf(ClusterSingletonManager.Props(
                    VsKeeper.Props(region, holder, settings),
                    PoisonPill.Instance,
                    ClusterSingletonManagerSettings.Create(system).WithRole(VslsClusterOptions.MemberRole)), KeeperName);
            }
        });
        return builder;
    }
}

/// <summary>Registry key of the <c>virtual-system</c> shard region (or proxy) in Akka.Hosting's ActorRegistry.</summary>
public sealed class VirtualSystemRegion;

/// <summary>Registry key of the VSLS registry singleton proxy in Akka.Hosting's ActorRegistry.</summary>
public sealed class VslsRegistryProxy;
