using VslsActors.Domain.Net;

namespace VslsActors.Domain.Tests.Net;

public sealed class NetAddressTests
{
    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("2001:db8::1")]
    [InlineData("::")]
    public void Parses_full_ipv4_and_ipv6_addresses_and_prints_them_back(string text)
    {
        Assert.True(NetAddress.TryParse(text, out var address));
        Assert.Equal(text, address.ToString());
    }

    [Theory]
    [InlineData("10.1")]
    [InlineData("10")]
    [InlineData("10.1.2")]
    [InlineData("10.1.2.3.4")]
    [InlineData("10.1.2.256")]
    [InlineData("10..2.3")]
    [InlineData("fe80::1%eth0")]
    [InlineData("")]
    public void Refuses_shorthand_and_malformed_addresses(string text) =>
        Assert.False(NetAddress.TryParse(text, out _));

    [Fact]
    public void Ipv4_addresses_are_mapped_into_the_ipv6_space_and_sort_before_global_ipv6()
    {
        var v4 = NetAddress.Parse("192.0.2.1");
        Assert.True(v4.IsIPv4);
        Assert.Equal(0xC0000201u, v4.IPv4Value);
        Assert.False(NetAddress.Parse("2001:db8::1").IsIPv4);
        Assert.True(v4.CompareTo(NetAddress.Parse("2001:db8::1")) < 0);
    }

    [Theory]
    [InlineData("10.0.0.0/8", "10.255.255.255", true)]
    [InlineData("10.0.0.0/8", "11.0.0.0", false)]
    [InlineData("0.0.0.0/0", "2001:db8::1", false)]
    [InlineData("2001:db8::/32", "2001:db8:ffff::1", true)]
    [InlineData("192.0.2.7", "192.0.2.7", true)]
    public void Prefix_contains_exactly_its_addresses(string prefix, string address, bool contained) =>
        Assert.Equal(contained, IpPrefix.Parse(prefix).Contains(NetAddress.Parse(address)));

    [Theory]
    [InlineData("10.0.0.1/8", "'10.0.0.1/8' is not a CIDR (host bits are set; did you mean 10.0.0.0/8?)")]
    [InlineData("10.0.0.0/33", "'10.0.0.0/33' is not a CIDR (prefix length must be 0-32)")]
    [InlineData("10.0/8", "'10.0/8' is not an address or CIDR ('10.0' is not an IPv4 or IPv6 address)")]
    public void Malformed_prefixes_are_refused_with_a_message_that_says_why(string text, string message)
    {
        Assert.False(IpPrefix.TryParse(text, out _, out var error));
        Assert.Equal(message, error);
    }
}
