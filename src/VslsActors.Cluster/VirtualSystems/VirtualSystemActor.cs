using Akka.Actor;
using VslsActors.Domain;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.VirtualSystems;

/// <summary>CONTRACT PLACEHOLDER — replaced by the VS actor implementation before landing.</summary>
public sealed class VirtualSystemActor
{
    /// <summary>Props of the persistent VS entity for <paramref name="config"/> running on <paramref name="member"/>.</summary>
    public static Props Props(VirtualSystemConfig config, MemberName member, VirtualSystemSettings settings) =>
        throw new NotImplementedException();
}

/// <summary>CONTRACT PLACEHOLDER — runtime settings of VS actors, read from HOCON <c>vsls.virtual-system</c>.</summary>
public sealed record VirtualSystemSettings
{
    /// <summary>Reads the settings from the <c>vsls.virtual-system</c> section.</summary>
    public static VirtualSystemSettings FromConfig(Akka.Configuration.Config config) => throw new NotImplementedException();
}
