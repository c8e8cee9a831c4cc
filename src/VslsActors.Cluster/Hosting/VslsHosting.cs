using Akka.Actor;
using Akka.Hosting;
using VslsActors.Domain;

namespace VslsActors.Cluster.Hosting;

/// <summary>CONTRACT PLACEHOLDER — replaced by the cluster wiring before landing.</summary>
public static class VslsHosting
{
    /// <summary>
    /// Wires a whole VSLS member (or driver) into Akka.Hosting: remoting, clustering with roles and
    /// split-brain resolver, persistence, serialization, the <c>virtual-system</c> shard region (or
    /// proxy) with the VSLS allocation strategy, the registry singleton and the VS keeper.
    /// <paramref name="entityProps"/> overrides the VS entity (tests only).
    /// </summary>
    public static AkkaConfigurationBuilder AddVsls(this AkkaConfigurationBuilder builder, VslsClusterOptions options,
        Func<VsId, Props>? entityProps = null) => throw new NotImplementedException();
}

/// <summary>Registry key of the <c>virtual-system</c> shard region (or proxy) in Akka.Hosting's ActorRegistry.</summary>
public sealed class VirtualSystemRegion;

/// <summary>Registry key of the VSLS registry singleton proxy in Akka.Hosting's ActorRegistry.</summary>
public sealed class VslsRegistryProxy;
