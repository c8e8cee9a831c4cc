using VslsActors.Domain.Net;

namespace VslsActors.Domain.Policy;

/// <summary>
/// The policy semantics written as plainly as possible: walk the rules in order, test each cell
/// item by item, look groups up by name on every packet. It shares no code with
/// <see cref="PolicyCompiler"/> on purpose: tests use it as the oracle the compiled policy must
/// agree with, and benchmarks as the baseline. It assumes a policy that compiled (no undefined
/// groups, no cycles); it is not for production paths.
/// </summary>
internal sealed class ReferencePolicyEvaluator(PolicyDefinition policy)
{
    public PolicyDecision Decide(NetAddress source, NetAddress destination, IpProtocol protocol, ushort destinationPort, byte icmpType)
    {
        for (var i = 0; i < policy.Rules.Length; i++)
        {
            var rule = policy.Rules[i];
            if (Matches(rule.Source, source)
                && Matches(rule.Destination, destination)
                && Matches(rule.Service, protocol, destinationPort, icmpType))
            {
                return new PolicyDecision(i, rule.Action, rule.Track, rule.Sync, rule.Name);
            }
        }
        return PolicyDecision.ImplicitCleanup;
    }

    private bool Matches(AddressCell cell, NetAddress address)
    {
        var any = false;
        foreach (var item in cell.Items)
        {
            if (Matches(item, address))
            {
                any = true;
                break;
            }
        }
        return any != cell.Negated;
    }

    private bool Matches(AddressItem item, NetAddress address)
    {
        switch (item)
        {
            case AddressItem.Any:
                return true;
            case AddressItem.Prefix p:
                return p.Value.Contains(address);
            case AddressItem.Group g:
                foreach (var member in policy.Groups[g.Name])
                {
                    if (Matches(member, address))
                        return true;
                }
                return false;
            default:
                throw new InvalidOperationException($"unexpected address item {item}");
        }
    }

    private static bool Matches(ServiceCell cell, IpProtocol protocol, ushort port, byte icmpType)
    {
        var any = false;
        foreach (var item in cell.Items)
        {
            if (Matches(item, protocol, port, icmpType))
            {
                any = true;
                break;
            }
        }
        return any != cell.Negated;
    }

    private static bool Matches(ServiceItem item, IpProtocol protocol, ushort port, byte icmpType) => item switch
    {
        ServiceItem.Any => true,
        ServiceItem.Ports p => p.Protocol == protocol && port >= p.Low && port <= p.High,
        ServiceItem.IcmpType t => t.Protocol == protocol && (t.Type is null || t.Type == icmpType),
        ServiceItem.WholeProtocol w => w.Number == protocol,
        _ => throw new InvalidOperationException($"unexpected service item {item}"),
    };
}
