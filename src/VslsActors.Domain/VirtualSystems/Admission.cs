using System.Runtime.CompilerServices;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Policy;

namespace VslsActors.Domain.VirtualSystems;

/// <summary>What a VS does with a packet for which it tracks no connection.</summary>
public enum AdmissionOutcome : byte
{
    /// <summary>The packet opens a connection (the policy accepted it and the table has room).</summary>
    Open = 1,
    /// <summary>The packet could never open a connection (e.g. a TCP ACK): an out-of-state drop.</summary>
    OutOfState = 2,
    /// <summary>The policy dropped it silently.</summary>
    PolicyDrop = 3,
    /// <summary>The policy rejected it (the sender would be told).</summary>
    Reject = 4,
    /// <summary>The policy accepted it but the VS's connection table is full (over-limit, kind <c>connections</c>).</summary>
    OverLimit = 5,
    /// <summary>
    /// The policy accepted it and the table has room, but the VS opened as many connections as its
    /// new-connections/s limit allows just now (over-limit, kind <c>new-connections/s</c>).
    /// </summary>
    OverNewConnectionRate = 6,
    /// <summary>
    /// The policy accepted it and the table has room, but the member is overloaded and sheds new
    /// connections of this VS (over-limit, kind <c>overload</c>; docs/degradation.md).
    /// </summary>
    Overload = 7,
}

/// <summary>The outcome of <see cref="Admission.Decide(in TimedPacket, CompiledPolicy, int, int)"/>: what happens, by which rule, and why when out of state.</summary>
/// <param name="Outcome">What happens to the packet.</param>
/// <param name="Rule">
/// The policy decision (for <see cref="AdmissionOutcome.Open"/>: the accepting rule, whose sync mode
/// and name the connection keeps). Default when the policy was not consulted (out of state).
/// </param>
/// <param name="Reason">Why the packet is out of state, for <see cref="AdmissionOutcome.OutOfState"/>.</param>
public readonly record struct AdmissionDecision(AdmissionOutcome Outcome, PolicyDecision Rule, OutOfStateReason Reason)
{
    /// <summary>Whether a connection is opened.</summary>
    public bool Opens => Outcome == AdmissionOutcome.Open;
}

/// <summary>
/// The first-packet decision of a VS, as a pure function. Order, and why:
/// <list type="number">
/// <item><b>State first</b> (<see cref="ConnectionStateMachine.CanOpen"/>): a packet that can never
/// open a connection (TCP ACK, SYN-ACK, echo reply) is an out-of-state drop whatever the policy
/// says, as a stateful gateway counts it — so the out-of-state counter means "packets of
/// connections we do not know", which is what a failover test watches.</item>
/// <item><b>Policy next</b> (<see cref="CompiledPolicy.Decide"/>): drop or reject by the first matching
/// rule (or the implicit cleanup rule).</item>
/// <item><b>Limit last</b>: only a connection the policy would accept can be over the limit, so a
/// full table never hides policy drops and an over-limit count is exactly "wanted but no room".</item>
/// <item><b>Overload after the table limit</b> (only with a shed flag, docs/degradation.md): a member that
/// sheds this VS's new connections refuses a packet that would open one; before the rate, so a shed
/// packet takes no token.</item>
/// <item><b>New-connection rate last</b>: a token of the VS's new-connections/s
/// bucket is taken only by a packet that would really open a connection, so refused packets never
/// use up the rate.</item>
/// </list>
/// The packets/s limit is not decided here: it applies to every packet of a VS, known connection or
/// not, so the VS refuses a batch's excess before it looks at any packet (cheapest for a flood).
/// </summary>
public static class Admission
{
    /// <summary>
    /// Decides the packet of <paramref name="packet"/> that matched no tracked connection, in a VS
    /// with <paramref name="liveConnections"/> tracked connections out of at most <paramref name="maxConnections"/>.
    /// Allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AdmissionDecision Decide(in TimedPacket packet, CompiledPolicy policy, int liveConnections, int maxConnections)
    {
        var header = packet.Header;
        var opens = ConnectionStateMachine.CanOpen(header);
        if (!opens.Opens)
            return new AdmissionDecision(AdmissionOutcome.OutOfState, default, opens.Reason);

        var rule = policy.Decide(header.Source, header.Destination, header.Protocol, header.DestinationPort, header.IcmpType);
        switch (rule.Action)
        {
            case RuleAction.Drop:
                return new AdmissionDecision(AdmissionOutcome.PolicyDrop, rule, OutOfStateReason.None);
            case RuleAction.Reject:
                return new AdmissionDecision(AdmissionOutcome.Reject, rule, OutOfStateReason.None);
        }
        return liveConnections >= maxConnections
            ? new AdmissionDecision(AdmissionOutcome.OverLimit, rule, OutOfStateReason.None)
            : new AdmissionDecision(AdmissionOutcome.Open, rule, OutOfStateReason.None);
    }

    /// <summary>
    /// <see cref="Decide(in TimedPacket, CompiledPolicy, int, int)"/>, then the new-connection rate: a
    /// packet that would open a connection takes a token of <paramref name="newConnections"/> at
    /// <paramref name="nowTicks"/>, or is <see cref="AdmissionOutcome.OverNewConnectionRate"/> when there
    /// is none. An unlimited bucket (<c>default</c>) admits everything. Allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AdmissionDecision Decide(in TimedPacket packet, CompiledPolicy policy, int liveConnections, int maxConnections, ref TokenBucket newConnections, long nowTicks) =>
        Decide(packet, policy, liveConnections, maxConnections, ref newConnections, nowTicks, shedNew: false);

    /// <summary>
    /// <see cref="Decide(in TimedPacket, CompiledPolicy, int, int)"/>, then, when <paramref name="shedNew"/>
    /// (the member is overloaded and sheds this VS's new connections), a packet that would open a connection
    /// is <see cref="AdmissionOutcome.Overload"/>; otherwise the new-connection rate as in
    /// <see cref="Decide(in TimedPacket, CompiledPolicy, int, int, ref TokenBucket, long)"/>. Allocates nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static AdmissionDecision Decide(in TimedPacket packet, CompiledPolicy policy, int liveConnections, int maxConnections, ref TokenBucket newConnections, long nowTicks, bool shedNew)
    {
        var decision = Decide(packet, policy, liveConnections, maxConnections);
        if (!decision.Opens)
            return decision;
        if (shedNew)
            return decision with { Outcome = AdmissionOutcome.Overload };
        if (newConnections.IsLimited && !newConnections.TryTake(nowTicks))
            return decision with { Outcome = AdmissionOutcome.OverNewConnectionRate };
        return decision;
    }
}
