using VslsActors.Domain;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

namespace VslsActors.Traffic;

/// <summary>What a generated flow carries.</summary>
public enum FlowKind : byte
{
    /// <summary>A TCP session: handshake, data both ways, FIN exchange or RST.</summary>
    Tcp,
    /// <summary>UDP request/reply pairs (DNS-like, or a stream when long-lived).</summary>
    Udp,
    /// <summary>ICMP/ICMPv6 echo requests and replies with one identifier.</summary>
    IcmpEcho,
    /// <summary>Another IP protocol (GRE, ESP …) both ways.</summary>
    OtherIp,
}

/// <summary>How a VS's policy should treat a generated flow.</summary>
public enum FlowIntent : byte
{
    /// <summary>An accept rule lets it through; every packet should be accepted.</summary>
    Accepted,
    /// <summary>A drop or reject rule (or the implicit cleanup) stops it; every packet is a policy drop.</summary>
    PolicyDropped,
    /// <summary>A lone non-initial packet with no connection: an out-of-state drop.</summary>
    OutOfState,
}

/// <summary>
/// The concrete endpoints of one flow, chosen from a VS's policy and checked against the compiled
/// policy so that the intent (accepted or dropped) is what the VS will decide.
/// </summary>
internal readonly record struct FlowEndpoints(
    FlowKind Kind,
    IpProtocol Protocol,
    NetAddress Client,
    ushort ClientPort,
    NetAddress Server,
    ushort ServerPort,
    ushort IcmpId,
    PolicyDecision Decision);

/// <summary>
/// Per-VS flow templates derived from the VS's policy: for every accept rule, the destinations and
/// sources it names (groups resolved) and the services it allows; for drops, the VS's own subnets
/// with services the policy refuses. Every drawn flow is checked with <see cref="CompiledPolicy.Decide"/>:
/// rules are first-match, so an earlier drop rule may shadow part of an accept rule (hr's
/// <c>not-corp</c>) and the check, not the template, has the last word.
/// </summary>
internal sealed class PolicyFlowTemplates
{
    private const int MaxTries = 40;

    // Sources for `any` (and negated cells): the corporate range and a public benchmark range.
    private static readonly AddressPool s_anySource = Pool("10.0.0.0/8", "198.18.0.0/15", "2001:db8:ffff::/48");

    // Services that policies usually refuse: telnet, RDP, SNMP, SMB, an alternative HTTP port, IRC.
    private static readonly (IpProtocol Protocol, ushort Port)[] s_suspectServices =
        [(IpProtocol.Tcp, 23), (IpProtocol.Tcp, 3389), (IpProtocol.Udp, 161), (IpProtocol.Tcp, 445), (IpProtocol.Tcp, 8080), (IpProtocol.Tcp, 6667), (IpProtocol.Udp, 1900)];

    // Destinations for `any`: the VS's own subnets and the internet (a guest network's traffic goes
    // out, classified to its VS by VLAN, not by destination).
    private static readonly AddressPool s_internet = Pool("198.51.100.0/24", "203.0.113.0/24", "2001:db8:ffff:100::/56");

    private readonly List<AcceptTemplate> _accepts = [];
    private readonly AddressPool _anyDestination = new();
    private readonly AddressPool _vsSubnets = new();
    private readonly CompiledPolicy _policy;

    private sealed record AcceptTemplate(AddressPool Sources, AddressPool Destinations, ServiceItem Service);

    public PolicyFlowTemplates(VirtualSystemConfig vs)
    {
        Vs = vs;
        _policy = PolicyCompiler.Compile(vs.Policy, "traffic generator", vs.Name);
        foreach (var subnet in vs.Subnets)
            _vsSubnets.Add(subnet);
        if (_vsSubnets.IsEmpty)
            _vsSubnets.AddAll(Pool("10.0.0.0/8"));
        _anyDestination.AddAll(_vsSubnets);
        _anyDestination.AddAll(s_internet);
        foreach (var rule in vs.Policy.Rules)
        {
            if (rule.Action != RuleAction.Accept)
                continue;
            var sources = Resolve(rule.Source, s_anySource);
            var destinations = Resolve(rule.Destination, _anyDestination);
            foreach (var service in rule.Service.Negated ? [new ServiceItem.Any()] : rule.Service.Items)
                _accepts.Add(new AcceptTemplate(sources, destinations, service));
        }
    }

    /// <summary>The VS the templates are for.</summary>
    public VirtualSystemConfig Vs { get; }

    /// <summary>Whether the policy accepts anything at all (a VS with no accept rule only gets dropped traffic).</summary>
    public bool HasAccepts => _accepts.Count > 0;

    /// <summary>The compiled policy the flows are checked against.</summary>
    public CompiledPolicy Policy => _policy;

    /// <summary>Draws a flow the policy accepts; false when none was found in a bounded number of tries.</summary>
    public bool TryDrawAccepted(Random random, out FlowEndpoints flow)
    {
        for (var i = 0; i < MaxTries && _accepts.Count > 0; i++)
        {
            var t = _accepts[random.Next(_accepts.Count)];
            if (!t.Destinations.TryDraw(random, null, out var server))
                continue;
            if (!t.Sources.TryDraw(random, server.IsIPv4, out var client) && !s_anySource.TryDraw(random, server.IsIPv4, out client))
                continue;
            if (!TryService(random, t.Service, server.IsIPv4, out var kind, out var protocol, out var port))
                continue;
            flow = Make(random, kind, protocol, client, server, port);
            if (flow.Decision.Action == RuleAction.Accept)
                return true;
        }
        flow = default;
        return false;
    }

    /// <summary>Draws a flow into the VS's own subnets that its policy drops or rejects.</summary>
    public bool TryDrawDropped(Random random, out FlowEndpoints flow)
    {
        for (var i = 0; i < MaxTries; i++)
        {
            if (!_vsSubnets.TryDraw(random, null, out var server) || !s_anySource.TryDraw(random, server.IsIPv4, out var client))
                continue;
            var (protocol, port) = s_suspectServices[random.Next(s_suspectServices.Length)];
            flow = Make(random, protocol == IpProtocol.Tcp ? FlowKind.Tcp : FlowKind.Udp, protocol, client, server, port);
            if (flow.Decision.Action != RuleAction.Accept)
                return true;
        }
        flow = default;
        return false;
    }

    private FlowEndpoints Make(Random random, FlowKind kind, IpProtocol protocol, NetAddress client, NetAddress server, ushort serverPort)
    {
        var clientPort = kind is FlowKind.Tcp or FlowKind.Udp ? (ushort)random.Next(32768, 61000) : (ushort)0;
        var icmpId = kind == FlowKind.IcmpEcho ? (ushort)random.Next(1, 65536) : (ushort)0;
        if (kind == FlowKind.IcmpEcho)
            protocol = client.IsIPv4 ? IpProtocol.Icmp : IpProtocol.IcmpV6;
        var icmpType = kind == FlowKind.IcmpEcho ? (client.IsIPv4 ? Domain.Flows.IcmpTypes.EchoRequestV4 : Domain.Flows.IcmpTypes.EchoRequestV6) : (byte)0;
        var decision = _policy.Decide(client, server, protocol, serverPort, icmpType);
        return new FlowEndpoints(kind, protocol, client, clientPort, server, serverPort, icmpId, decision);
    }

    private static bool TryService(Random random, ServiceItem item, bool ipv4, out FlowKind kind, out IpProtocol protocol, out ushort port)
    {
        port = 0;
        switch (item)
        {
            case ServiceItem.Ports p when p.Protocol is IpProtocol.Tcp or IpProtocol.Udp:
                kind = p.Protocol == IpProtocol.Tcp ? FlowKind.Tcp : FlowKind.Udp;
                protocol = p.Protocol;
                port = (ushort)random.Next(p.Low, p.High + 1);
                return true;
            case ServiceItem.IcmpType i when i.Type is null || i.Type == Domain.Flows.IcmpTypes.EchoRequestV4 || i.Type == Domain.Flows.IcmpTypes.EchoRequestV6:
                // icmp/8 only matches IPv4 and icmpv6/128 only IPv6: the family must fit.
                kind = FlowKind.IcmpEcho;
                protocol = i.Protocol;
                return (i.Protocol == IpProtocol.Icmp) == ipv4;
            case ServiceItem.WholeProtocol w:
                protocol = w.Number;
                kind = w.Number switch
                {
                    IpProtocol.Tcp => FlowKind.Tcp,
                    IpProtocol.Udp => FlowKind.Udp,
                    IpProtocol.Icmp or IpProtocol.IcmpV6 => FlowKind.IcmpEcho,
                    _ => FlowKind.OtherIp,
                };
                if (kind is FlowKind.Tcp or FlowKind.Udp)
                    port = (ushort)random.Next(1, 65536);
                return true;
            case ServiceItem.Any:
                // `any` service: what people mostly do — web.
                kind = FlowKind.Tcp;
                protocol = IpProtocol.Tcp;
                port = random.Next(2) == 0 ? (ushort)443 : (ushort)80;
                return true;
            default:
                kind = default;
                protocol = default;
                return false;
        }
    }

    private AddressPool Resolve(AddressCell cell, AddressPool any)
    {
        // A negated cell matches "everything but"; draw from the broad pool and let Decide judge.
        if (cell.Negated)
            return any;
        var pool = new AddressPool();
        foreach (var item in cell.Items)
            AddItem(pool, item, any, 0);
        return pool.IsEmpty ? any : pool;
    }

    private void AddItem(AddressPool pool, AddressItem item, AddressPool any, int depth)
    {
        switch (item)
        {
            case AddressItem.Any:
                pool.AddAll(any);
                break;
            case AddressItem.Prefix p:
                pool.Add(p.Value);
                break;
            case AddressItem.Group g when depth < 16 && Vs.Policy.Groups.TryGetValue(g.Name, out var members):
                foreach (var m in members)
                    AddItem(pool, m, any, depth + 1);
                break;
        }
    }

    private static AddressPool Pool(params string[] prefixes)
    {
        var pool = new AddressPool();
        foreach (var p in prefixes)
            pool.Add(IpPrefix.Parse(p));
        return pool;
    }
}
