using Akka.Actor;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// Whether this member is fenced right now (cut off on the minority side of a partition, or frozen and
/// about to down itself), shared by the fences that decide it and the VS actors that must not run meanwhile.
/// Killing the running VS actors is not enough on its own: a local sender (the VS keeper when this member
/// hosts the coordinator, an ingress client, the management API) starts a VS again through the local shard
/// region at once, and it would serve for up to one fence tick before being killed again — the multinode
/// partition spec's checker saw exactly that (a VS restarted on the minority 0.5 s after the majority had
/// the member Down). A VS that starts while its member is fenced stops in <c>PreStart</c>, before
/// recovering or journaling anything.
/// </summary>
public sealed class MemberFenceState : IExtension
{
    private volatile bool _fenced;

    /// <summary>True while a fence holds this member's VSs down.</summary>
    public bool IsFenced => _fenced;

    /// <summary>Sets or clears the fence (the fence actors call this).</summary>
    public void Set(bool fenced) => _fenced = fenced;

    /// <summary>The state of <paramref name="system"/>.</summary>
    public static MemberFenceState Get(ActorSystem system) => system.WithExtension<MemberFenceState, MemberFenceStateProvider>();
}

/// <summary>Akka extension provider of <see cref="MemberFenceState"/>.</summary>
public sealed class MemberFenceStateProvider : ExtensionIdProvider<MemberFenceState>
{
    /// <inheritdoc />
    public override MemberFenceState CreateExtension(ExtendedActorSystem system) => new();
}
