using System.Net;
using VslsActors.Domain;

namespace VslsActors.MultiNode.Network;

/// <summary>
/// One member's place in a <see cref="NetworkLab"/>: its network namespace, its address on the lab's
/// bridge, and the host end of its veth pair.
/// </summary>
/// <param name="Name">The member this place is for.</param>
/// <param name="Index">1-based position; the last octet of <paramref name="Address"/>.</param>
/// <param name="Namespace">The network namespace (<c>vsls-&lt;run&gt;-&lt;member&gt;</c>).</param>
/// <param name="Address">The member's address (<c>10.231.&lt;n&gt;.&lt;index&gt;</c>): bind and advertise on it.</param>
/// <param name="HostInterface">The veth end on the bridge in the root namespace (<c>vslh&lt;run&gt;m&lt;index&gt;</c>).</param>
public sealed record LabMember(MemberName Name, int Index, string Namespace, IPAddress Address, string HostInterface)
{
    /// <summary>
    /// The command prefix that runs a program inside this member's namespace. <c>ip netns exec</c> execs
    /// the program in place (no fork), so the pid the harness gets is the member's own: kill -9, SIGSTOP
    /// and SIGTERM reach the member itself.
    /// </summary>
    public IReadOnlyList<string> CommandPrefix => [NetworkLabRequirements.ToolPath("ip") ?? "ip", "netns", "exec", Namespace];

    /// <summary>The address as text, for <c>--host</c>, <c>--ingress</c> and <c>--api</c>.</summary>
    public string Host => Address.ToString();
}
