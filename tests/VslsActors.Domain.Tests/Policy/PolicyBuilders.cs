using System.Collections.Immutable;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Domain.Tests.Policy;

/// <summary>Short ways to write policies in tests: address items as text, services as items.</summary>
internal static class PolicyBuilders
{
    /// <summary>"any", an address or CIDR, or else a group name.</summary>
    public static AddressItem Item(string text) =>
        text == "any" ? new AddressItem.Any()
        : text.Contains('.') || text.Contains(':') ? new AddressItem.Prefix(IpPrefix.Parse(text))
        : new AddressItem.Group(text);

    public static AddressCell Cell(params string[] items) => new([.. items.Select(Item)]);

    public static AddressCell Not(params string[] items) => new([.. items.Select(Item)], Negated: true);

    public static ServiceCell Services(params ServiceItem[] items) => new([.. items]);

    public static ServiceCell NotServices(params ServiceItem[] items) => new([.. items], Negated: true);

    public static ServiceItem Tcp(ushort low, ushort? high = null) => new ServiceItem.Ports(IpProtocol.Tcp, low, high ?? low);

    public static ServiceItem Udp(ushort low, ushort? high = null) => new ServiceItem.Ports(IpProtocol.Udp, low, high ?? low);

    public static ServiceItem Icmp(byte? type = null) => new ServiceItem.IcmpType(IpProtocol.Icmp, type);

    public static ServiceItem IcmpV6(byte? type = null) => new ServiceItem.IcmpType(IpProtocol.IcmpV6, type);

    public static ServiceItem Proto(byte number) => new ServiceItem.WholeProtocol((IpProtocol)number);

    public static PolicyRule Rule(
        string name,
        AddressCell? source = null,
        AddressCell? destination = null,
        ServiceCell? service = null,
        RuleAction action = RuleAction.Accept,
        TrackMode track = TrackMode.None,
        SyncMode sync = SyncMode.Immediate) =>
        new(name, source ?? AddressCell.Any, destination ?? AddressCell.Any, service ?? ServiceCell.Any, action, track, sync);

    public static PolicyDefinition PolicyOf(params PolicyRule[] rules) =>
        new(ImmutableDictionary<string, ImmutableArray<AddressItem>>.Empty, [.. rules]);

    public static PolicyDefinition PolicyOf(IEnumerable<(string Name, string[] Items)> groups, params PolicyRule[] rules) =>
        new(groups.ToImmutableDictionary(g => g.Name, g => g.Items.Select(Item).ToImmutableArray()), [.. rules]);

    public static NetAddress A(string text) => NetAddress.Parse(text);
}
