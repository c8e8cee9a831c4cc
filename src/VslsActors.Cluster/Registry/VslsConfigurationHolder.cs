using System.Collections.Immutable;
using Akka.Actor;
using VslsActors.Domain;
using VslsActors.Domain.Configuration;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Registry;

/// <summary>
/// The VSLS configuration one member runs with: the topology file's VSs and policies with the
/// registry's priority lists, weights and modes applied, and the members drained for maintenance.
/// </summary>
/// <param name="Version">The registry version it came from; -1 while only the topology file is known.</param>
/// <param name="Topology">The topology with the registry's VSLS settings applied.</param>
/// <param name="Drained">Members being drained (placement treats them as Draining).</param>
public sealed record VslsConfiguration(long Version, Topology Topology, ImmutableHashSet<MemberName> Drained)
{
    /// <summary>True once the configuration came from the registry rather than from the topology file alone.</summary>
    public bool FromRegistry => Version >= 0;
}

/// <summary>
/// Holds the current <see cref="VslsConfiguration"/> of one ActorSystem (an Akka extension), so that
/// the allocation strategy (which runs inside the shard coordinator, wherever that is) and the VS
/// keeper read the same, latest configuration. Written only by the member's configuration subscriber
/// (pushed updates on DistributedPubSub topic <c>vsls-configuration</c> plus a periodic pull from the
/// registry); read lock-free by anyone. Versions only grow: an older update is ignored.
/// </summary>
public sealed class VslsConfigurationHolder : IExtension
{
    private readonly object _gate = new();
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile VslsConfiguration? _current;
    private Topology? _fileTopology;

    /// <summary>The holder of <paramref name="system"/>.</summary>
    public static VslsConfigurationHolder Get(ActorSystem system) => system.WithExtension<VslsConfigurationHolder, VslsConfigurationHolderId>();

    /// <summary>The configuration now. Throws until <see cref="Initialize"/> ran (AddVsls does it before anything reads it).</summary>
    public VslsConfiguration Current => _current ?? throw new InvalidOperationException(
        "the VSLS configuration holder is not initialized (AddVsls initializes it with the topology before starting sharding)");

    /// <summary>Whether <see cref="Initialize"/> ran.</summary>
    public bool IsInitialized => _current is not null;

    /// <summary>The topology as the file gave it (VSs, policies, members); the registry's settings are applied over it.</summary>
    public Topology FileTopology => _fileTopology ?? Current.Topology;

    /// <summary>Completes when the first configuration from the registry has been applied.</summary>
    public Task RegistryLoaded => _loaded.Task;

    /// <summary>Sets the topology file's configuration (version -1). Later calls are ignored.</summary>
    public void Initialize(Topology fileTopology)
    {
        ArgumentNullException.ThrowIfNull(fileTopology);
        lock (_gate)
        {
            if (_current is not null)
                return;
            _fileTopology = fileTopology;
            _current = new VslsConfiguration(-1, fileTopology, []);
        }
    }

    /// <summary>
    /// Applies the registry's configuration <paramref name="configText"/> (VslsConfigFile format) at
    /// <paramref name="version"/> over the topology file. Returns false when the version is not newer
    /// than the current one. Throws <see cref="ConfigException"/> when the text does not fit this
    /// member's topology file (then nothing changes).
    /// </summary>
    public bool TryUpdate(long version, string configText, IEnumerable<string> drainedMembers)
    {
        ArgumentNullException.ThrowIfNull(configText);
        ArgumentNullException.ThrowIfNull(drainedMembers);
        lock (_gate)
        {
            var current = Current;
            if (version <= current.Version)
            {
                _loaded.TrySetResult();
                return false;
            }
            var topology = VslsConfigFile.Import(FileTopology, configText, "registry configuration");
            var drained = ImmutableHashSet.CreateRange(drainedMembers.Where(MemberName.IsValid).Select(m => new MemberName(m)));
            _current = new VslsConfiguration(version, topology, drained);
            _loaded.TrySetResult();
            return true;
        }
    }

    /// <summary>Whether <paramref name="vs"/> is configured (used by the message extractor).</summary>
    public bool IsConfigured(VsId vs) => _current?.Topology.Find(vs) is not null;
}

/// <summary>
/// Published on a member's local event stream each time its <see cref="VslsConfigurationHolder"/> takes a
/// newer configuration, so that running actors (VS actors: their limits) apply it without a restart.
/// Local only: never sent between members, so not an <c>IVslsMessage</c>.
/// </summary>
/// <param name="Configuration">The configuration now in effect on this member.</param>
public sealed record VslsConfigurationApplied(VslsConfiguration Configuration) : INoSerializationVerificationNeeded;

/// <summary>Extension id of <see cref="VslsConfigurationHolder"/>.</summary>
public sealed class VslsConfigurationHolderId : ExtensionIdProvider<VslsConfigurationHolder>
{
    /// <inheritdoc />
    public override VslsConfigurationHolder CreateExtension(ExtendedActorSystem system) => new();
}
