using Akka.Actor;
using Akka.Cluster;
using VslsActors.Cluster.Hosting;
using VslsActors.Domain;
using VslsActors.Domain.Placement;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// Reads what placement needs from Akka cluster state: each VS-hosting member's name (its
/// <c>member:&lt;name&gt;</c> role) and its <see cref="MemberState"/>.
/// </summary>
public static class ClusterView
{
    /// <summary>The member name a cluster member carries as a role, or null (a driver, or another application).</summary>
    public static MemberName? NameOf(Member member)
    {
        ArgumentNullException.ThrowIfNull(member);
        if (!member.HasRole(VslsClusterOptions.MemberRole))
            return null;
        foreach (var role in member.Roles)
        {
            if (role.StartsWith(VslsClusterOptions.MemberNameRolePrefix, StringComparison.Ordinal)
                && MemberName.IsValid(role[VslsClusterOptions.MemberNameRolePrefix.Length..]))
                return new MemberName(role[VslsClusterOptions.MemberNameRolePrefix.Length..]);
        }
        return null;
    }

    /// <summary>
    /// Member states for placement: Up = <see cref="MemberStatus.Up"/> and reachable (Draining when
    /// the registry drains it); every other member — joining, weakly up, leaving, exiting, down,
    /// unreachable, removed — is left out, which placement reads as Down.
    /// </summary>
    public static Dictionary<MemberName, MemberState> MemberStates(ClusterEvent.CurrentClusterState state, IReadOnlySet<MemberName> drained)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(drained);
        var result = new Dictionary<MemberName, MemberState>();
        foreach (var m in state.Members)
        {
            if (m.Status != MemberStatus.Up || state.Unreachable.Contains(m) || NameOf(m) is not { } name)
                continue;
            result[name] = drained.Contains(name) ? MemberState.Draining : MemberState.Up;
        }
        return result;
    }

    /// <summary>
    /// The member a region (or any actor) lives on: its path's address — a local region's path has no
    /// host, so <paramref name="selfAddress"/> stands for it — looked up among the cluster's members.
    /// </summary>
    public static MemberName? MemberOf(IActorRef actor, Address selfAddress, IReadOnlyDictionary<Address, Member> membersByAddress)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var address = actor.Path.Address.HasLocalScope ? selfAddress : actor.Path.Address;
        return membersByAddress.TryGetValue(address, out var member) ? NameOf(member) : null;
    }

    /// <summary>Every member the state knows (reachable or not), by address.</summary>
    public static Dictionary<Address, Member> MembersByAddress(ClusterEvent.CurrentClusterState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var result = new Dictionary<Address, Member>();
        foreach (var m in state.Members)
            result[m.Address] = m;
        foreach (var m in state.Unreachable)
            result[m.Address] = m;
        return result;
    }
}
