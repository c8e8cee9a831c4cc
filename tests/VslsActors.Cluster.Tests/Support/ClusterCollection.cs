namespace VslsActors.Cluster.Tests.Support;

/// <summary>
/// Cluster tests run one at a time: each starts several ActorSystems, and on a 2-core machine two
/// clusters at once would make timings (and failure detectors) suffer for no gain.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "in-process cluster";
}
