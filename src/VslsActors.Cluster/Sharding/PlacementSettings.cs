using Akka.Configuration;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// Runtime settings of placement, read from HOCON <c>vsls.placement</c> (hocon/placement.conf documents
/// every key). Missing keys take the defaults below, so a member started without the shipped file
/// still behaves.
/// </summary>
/// <param name="KeeperInterval">How often the VS keeper sends <c>EnsureStarted</c> for every configured VS.</param>
/// <param name="MaxMovesPerRebalance">How many VSs one rebalance round may move (in-flight moves count).</param>
/// <param name="ConfigRefreshInterval">How often each member asks the registry for the configuration, besides the pushed updates.</param>
/// <param name="AwaitRegistryTimeout">How long the first shard allocation waits for the registry's configuration before using the topology file's.</param>
/// <param name="AwaitRegionTimeout">How long a VS's allocation waits for the region of its Up Active member to register before going to the next candidate.</param>
/// <param name="FormationTimeout">How long a freshly started cluster's keeper waits for every configured member to be Up before starting VSs anyway.</param>
public sealed record PlacementSettings(
    TimeSpan KeeperInterval,
    int MaxMovesPerRebalance,
    TimeSpan ConfigRefreshInterval,
    TimeSpan AwaitRegistryTimeout,
    TimeSpan AwaitRegionTimeout,
    TimeSpan FormationTimeout)
{
    /// <summary>The defaults of hocon/placement.conf.</summary>
    public static PlacementSettings Default { get; } = new(
        TimeSpan.FromMilliseconds(500), 2, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10));

    /// <summary>Reads <c>vsls.placement</c> from <paramref name="config"/> (the whole system config).</summary>
    public static PlacementSettings FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var d = Default;
        var keeper = config.GetTimeSpan("vsls.placement.keeper-interval", d.KeeperInterval, allowInfinite: false);
        var moves = config.GetInt("vsls.placement.max-moves-per-rebalance", d.MaxMovesPerRebalance);
        var refresh = config.GetTimeSpan("vsls.placement.config-refresh-interval", d.ConfigRefreshInterval, allowInfinite: false);
        var await = config.GetTimeSpan("vsls.placement.await-registry-timeout", d.AwaitRegistryTimeout, allowInfinite: false);
        var region = config.GetTimeSpan("vsls.placement.await-region-timeout", d.AwaitRegionTimeout, allowInfinite: false);
        var formation = config.GetTimeSpan("vsls.placement.formation-timeout", d.FormationTimeout, allowInfinite: false);
        if (keeper <= TimeSpan.Zero)
            throw new ConfigurationException("vsls.placement.keeper-interval must be > 0");
        if (moves < 1)
            throw new ConfigurationException("vsls.placement.max-moves-per-rebalance must be >= 1");
        if (refresh <= TimeSpan.Zero)
            throw new ConfigurationException("vsls.placement.config-refresh-interval must be > 0");
        return new PlacementSettings(keeper, moves, refresh, Max0(await), Max0(region), Max0(formation));
    }

    private static TimeSpan Max0(TimeSpan t) => t < TimeSpan.Zero ? TimeSpan.Zero : t;
}
