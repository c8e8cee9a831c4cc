using System.Collections.Immutable;
using System.Reflection;
using Akka.Actor;
using Akka.Hosting;
using Akka.Serialization;
using Akka.Serialization.Hyperion;
using Hyperion;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;
using VslsActors.Cluster.Registry;

namespace VslsActors.Cluster.Serialization;

/// <summary>
/// How VSLS messages and persisted data are serialized, and the Akka.Hosting wiring for it.
/// </summary>
/// <remarks>
/// <para>Messages between members (<see cref="IVslsMessage"/>) go through Hyperion, restricted to
/// <see cref="AllowedTypes"/>: every concrete <see cref="IVslsMessage"/> type of this assembly plus
/// the types they contain. Hyperion writes a CLR type name into the payload for every non-primitive
/// value it serializes (with version tolerance on, even for fields of a known value type), and on
/// reading it resolves each such name through the type filter before loading the type. A payload
/// naming any other type — a gadget type, a test type, even a project type such as a persisted
/// record — is refused with <c>Hyperion.Internal.UserEvilDeserializationException</c> (or
/// <c>EvilDeserializationException</c> for Hyperion's built-in deny list) before the type is loaded.</para>
/// <para>Persisted data (<see cref="IVslsPersistedData"/>) goes through
/// <see cref="VslsPersistenceSerializer"/>: stable string manifests, never CLR type names.</para>
/// <para>Akka's own messages (cluster gossip, sharding, persistence envelopes) keep Akka's protobuf
/// serializers; only the two marker interfaces are bound here, so nothing of ours reaches Akka's
/// <c>System.Object</c> fallback (Newtonsoft JSON).</para>
/// </remarks>
public static class VslsSerialization
{
    /// <summary>Alias of the restricted Hyperion serializer (Hyperion's own alias, so its id −5 is unchanged).</summary>
    public const string HyperionAlias = "hyperion";

    /// <summary>Alias of <see cref="VslsPersistenceSerializer"/>.</summary>
    public const string PersistenceAlias = "vsls-persistence";

    /// <summary>
    /// Every concrete <see cref="IVslsMessage"/> type in the VslsActors.Cluster assembly, found by
    /// reflection so that a new message is allow-listed the moment it is declared, ordered by full name.
    /// </summary>
    public static ImmutableArray<Type> MessageTypes { get; } = FindMessageTypes();

    /// <summary>
    /// The types that messages contain and that Hyperion names in its payloads, listed by hand:
    /// the allow-list is the security boundary, so growing it is a deliberate change. A test walks
    /// the fields of every message and fails when this list misses a type (or holds one no message
    /// reaches). Hyperion's own primitives (integers, <see cref="string"/>, <see cref="bool"/>,
    /// <see cref="Guid"/>, <see cref="DateTime"/>, <c>byte[]</c> …) have dedicated manifests
    /// without names and need no entry; enums, structs such as <see cref="UInt128"/> and arrays do.
    /// </summary>
    public static ImmutableArray<Type> ContainedTypes { get; } =
    [
        typeof(VerdictCounts),
        typeof(VsId),
        typeof(VsId[]),
        typeof(TimedPacket),
        typeof(TimedPacket[]),
        typeof(PacketHeader),
        typeof(TcpFlags),
        typeof(IpProtocol),
        typeof(NetAddress),
        typeof(UInt128),
        typeof(ConnectionRecord),
        typeof(ConnectionRecord[]),
        typeof(FlowKey),
        typeof(ConnectionState),
        typeof(ConnectionPhase),
        typeof(SyncMode),
        // Registry commands and replies.
        typeof(DistributionMode),
        typeof(FailbackMode),
        typeof(string[]),
        typeof(RegistryChangeEntry),
        typeof(RegistryChangeEntry[]),
        typeof(VsLoad),
        typeof(VsLoad[]),
        // The optional fields of VirtualSystemReplies.Status (checkpoint and journal lag, for /metrics).
        typeof(long?),
        typeof(int?),
        // VS keeper replies.
        typeof(Sharding.VsMove),
        typeof(Sharding.VsMove[]),
        typeof(Sharding.MemberMoves),
        typeof(Sharding.MemberMoves[]),
    ];

    /// <summary><see cref="MessageTypes"/> and <see cref="ContainedTypes"/>: everything Hyperion may read.</summary>
    public static ImmutableArray<Type> AllowedTypes { get; } = [.. MessageTypes, .. ContainedTypes];

    /// <summary>
    /// The Hyperion type filter admitting exactly <see cref="AllowedTypes"/>.
    /// </summary>
    /// <remarks>
    /// Not Hyperion's <c>TypeFilterBuilder</c> filter on its own: that one holds version-less
    /// ("short") type names, which is what Hyperion reads from a payload, but Hyperion's
    /// <c>Serializer.Serialize</c> checks the root object's full <see cref="Type.AssemblyQualifiedName"/>
    /// (with Version, Culture, PublicKeyToken) against the same filter, so with the builder's filter
    /// a member could not even send an allowed message. <see cref="AllowListTypeFilter"/> holds both
    /// forms of every allowed type and compares exactly.
    /// </remarks>
    public static ITypeFilter CreateTypeFilter() => new AllowListTypeFilter(AllowedTypes);

    /// <summary>
    /// Hyperion settings for VSLS: version tolerance on (Akka's default), <c>disallow-unsafe-type = true</c>,
    /// the allow-list filter, and object references NOT preserved.
    /// </summary>
    /// <remarks>
    /// Reference preservation (Akka's default) tracks every serialized value, boxed structs
    /// included, in a dictionary keyed by the value's own equality. <see cref="ConnectionState"/>
    /// has the default struct hash (its first field, the phase), so a reply carrying a few thousand
    /// connections collides in that dictionary and serializes in quadratic time (measured: 1,000
    /// connections 0.7 s, 4,000 5.4 s, 16,000 65 s; without it 100,000 take about a second).
    /// VSLS messages are immutable trees without cycles, so nothing needs the references. Every
    /// member must use the same setting: it changes the wire format.
    /// </remarks>
    public static HyperionSerializerSettings CreateHyperionSettings() =>
        HyperionSerializerSettings.Default
            .WithPreserveObjectReference(false)
            .WithDisallowUnsafeType(true)
            .WithTypeFilter(CreateTypeFilter());

    /// <summary>
    /// The same restriction as an <see cref="Akka.Actor.Setup.Setup"/>, for any
    /// <see cref="HyperionSerializer"/> created from HOCON.
    /// </summary>
    /// <remarks>
    /// On its own this is not enough: Akka.Serialization.Hyperion applies the setup to the
    /// serializer's <c>Settings</c> property but builds its inner Hyperion serializer from the
    /// settings passed to its constructor, so the setup's filter does not reach the filter that
    /// runs. <see cref="AddVslsSerialization"/> therefore also hands
    /// <see cref="CreateHyperionSettings"/> to the constructor; a test checks the filter that runs.
    /// </remarks>
    public static HyperionSerializerSetup CreateHyperionSetup() =>
        HyperionSerializerSetup.Empty
            .WithPreserveObjectReference(false)
            .WithDisallowUnsafeType(true)
            .WithTypeFilter(CreateTypeFilter());

    /// <summary>
    /// Wires VSLS serialization into an actor system: the restricted Hyperion serializer bound to
    /// <see cref="IVslsMessage"/>, <see cref="VslsPersistenceSerializer"/> bound to
    /// <see cref="IVslsPersistedData"/>, and the Hyperion setup.
    /// </summary>
    /// <param name="builder">The Akka.Hosting builder.</param>
    /// <param name="persistenceSerializer">
    /// Creates the persistence serializer; <c>null</c> for <see cref="VslsPersistenceSerializer"/>
    /// itself. Tests pass a subclass that maps a manifest to a renamed type; production never does.
    /// </param>
    public static AkkaConfigurationBuilder AddVslsSerialization(
        this AkkaConfigurationBuilder builder,
        Func<ExtendedActorSystem, VslsPersistenceSerializer>? persistenceSerializer = null)
    {
        var settings = CreateHyperionSettings();
        return builder
            .AddSetup(CreateHyperionSetup())
            .WithCustomSerializer(HyperionAlias, [typeof(IVslsMessage)], system => new HyperionSerializer(system, settings))
            .WithCustomSerializer(PersistenceAlias, [typeof(IVslsPersistedData)],
                persistenceSerializer ?? (system => new VslsPersistenceSerializer(system)));
    }

    private static ImmutableArray<Type> FindMessageTypes()
    {
        var types = new List<Type>();
        foreach (var type in typeof(IVslsMessage).Assembly.GetTypes())
        {
            if (type is { IsAbstract: false, IsInterface: false } && typeof(IVslsMessage).IsAssignableFrom(type))
                types.Add(type);
        }
        types.Sort((a, b) => string.CompareOrdinal(a.FullName, b.FullName));
        return [.. types];
    }
}
