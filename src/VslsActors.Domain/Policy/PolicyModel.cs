using System.Collections.Immutable;
using VslsActors.Domain.Net;

namespace VslsActors.Domain.Policy;

/// <summary>What a rule does with the first packet of a connection it matches.</summary>
public enum RuleAction
{
    /// <summary>Let the connection through and track it.</summary>
    Accept,
    /// <summary>Drop silently.</summary>
    Drop,
    /// <summary>Drop and tell the sender (TCP RST / ICMP unreachable in a real gateway).</summary>
    Reject,
}

/// <summary>Whether a match is logged.</summary>
public enum TrackMode
{
    /// <summary>Not logged.</summary>
    None,
    /// <summary>Logged.</summary>
    Log,
}

/// <summary>
/// How an accepted connection is synchronized (checkpointed) so that it survives failover.
/// </summary>
public enum SyncMode
{
    /// <summary>Checkpointed as soon as it opens.</summary>
    Immediate,
    /// <summary>
    /// Checkpointed only once it has lived the VS's sync delay: most short flows (HTTP) end
    /// before a failover could matter, and syncing them would be wasted work.
    /// </summary>
    Delayed,
    /// <summary>Never checkpointed: lost on failover.</summary>
    None,
}

/// <summary>One entry of a rule's source or destination cell.</summary>
public abstract record AddressItem
{
    private AddressItem() { }

    /// <summary>Every address.</summary>
    public sealed record Any : AddressItem
    {
        /// <inheritdoc />
        public override string ToString() => "any";
    }

    /// <summary>A single address or CIDR prefix.</summary>
    public sealed record Prefix(IpPrefix Value) : AddressItem
    {
        /// <inheritdoc />
        public override string ToString() => Value.Length == (Value.IsIPv4 ? 32 : 128) ? Value.Network.ToString() : Value.ToString();
    }

    /// <summary>A named group defined in the policy's <see cref="PolicyDefinition.Groups"/>.</summary>
    public sealed record Group(string Name) : AddressItem
    {
        /// <inheritdoc />
        public override string ToString() => Name;
    }
}

/// <summary>
/// A source or destination cell: a list of items, matched when any item matches; when
/// <see cref="Negated"/>, matched when none does (Check Point's "negate cell").
/// </summary>
public sealed record AddressCell(ImmutableArray<AddressItem> Items, bool Negated = false)
{
    /// <summary>The cell that matches every address.</summary>
    public static AddressCell Any { get; } = new([new AddressItem.Any()]);
}

/// <summary>One entry of a rule's service cell.</summary>
public abstract record ServiceItem
{
    private ServiceItem() { }

    /// <summary>Every protocol and port.</summary>
    public sealed record Any : ServiceItem
    {
        /// <inheritdoc />
        public override string ToString() => "any";
    }

    /// <summary>TCP or UDP destination ports <see cref="Low"/>–<see cref="High"/> (inclusive).</summary>
    public sealed record Ports(IpProtocol Protocol, ushort Low, ushort High) : ServiceItem
    {
        /// <inheritdoc />
        public override string ToString() => Low == High ? $"{Protocol.Name()}/{Low}" : $"{Protocol.Name()}/{Low}-{High}";
    }

    /// <summary>ICMP or ICMPv6 of one type, or of every type when <see cref="Type"/> is null.</summary>
    public sealed record IcmpType(IpProtocol Protocol, byte? Type) : ServiceItem
    {
        /// <inheritdoc />
        public override string ToString() => Type is { } t ? $"{Protocol.Name()}/{t}" : Protocol.Name();
    }

    /// <summary>Every packet of one IP protocol, whatever its ports (e.g. GRE = 47, ESP = 50).</summary>
    public sealed record WholeProtocol(IpProtocol Number) : ServiceItem
    {
        /// <inheritdoc />
        public override string ToString() => $"proto/{(byte)Number}";
    }
}

/// <summary>A rule's service cell: matched when any item matches, or none when negated.</summary>
public sealed record ServiceCell(ImmutableArray<ServiceItem> Items, bool Negated = false)
{
    /// <summary>The cell that matches every service.</summary>
    public static ServiceCell Any { get; } = new([new ServiceItem.Any()]);
}

/// <summary>One rule of a VS's rule base.</summary>
public sealed record PolicyRule(
    string Name,
    AddressCell Source,
    AddressCell Destination,
    ServiceCell Service,
    RuleAction Action,
    TrackMode Track = TrackMode.None,
    SyncMode Sync = SyncMode.Immediate);

/// <summary>
/// A VS's security policy as written: named address groups (which may name other groups)
/// and an ordered rule base. The first matching rule decides; what no rule matches is
/// dropped by the implicit cleanup rule.
/// </summary>
public sealed record PolicyDefinition(
    ImmutableDictionary<string, ImmutableArray<AddressItem>> Groups,
    ImmutableArray<PolicyRule> Rules)
{
    /// <summary>A policy with no rules: everything hits the implicit cleanup rule.</summary>
    public static PolicyDefinition Empty { get; } = new(ImmutableDictionary<string, ImmutableArray<AddressItem>>.Empty, []);

    /// <summary>A single rule accepting everything (used by replay's <c>single</c> mode).</summary>
    public static PolicyDefinition AcceptAll { get; } = new(
        ImmutableDictionary<string, ImmutableArray<AddressItem>>.Empty,
        [new PolicyRule("accept-all", AddressCell.Any, AddressCell.Any, ServiceCell.Any, RuleAction.Accept)]);
}
