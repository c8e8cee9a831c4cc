using Akka.Hosting;
using Akka.Serialization;
using VslsActors.Cluster.Protocol;

namespace VslsActors.Cluster.Serialization;

/// <summary>
/// Stand-in for the serialization part's <c>AddVslsSerialization</c> until it lands; the integrator
/// deletes this file at merge. It binds Hyperion to the project's message and persisted types without
/// the allow-list, which is exactly what the real one adds (with stable manifests for persisted data).
/// </summary>
internal static class SerializationShim
{
    /// <summary>Binds Hyperion to <see cref="IVslsMessage"/> and <see cref="IVslsPersistedData"/>.</summary>
    public static AkkaConfigurationBuilder AddVslsSerialization(this AkkaConfigurationBuilder builder) =>
        builder.WithCustomSerializer("hyperion", [typeof(IVslsMessage), typeof(IVslsPersistedData)], system => new HyperionSerializer(system));
}
