using System.Globalization;
using System.Net;

namespace VslsActors.Node.Web;

/// <summary>
/// The member's ingress endpoint and limits (docs/ingress.md). Set by <c>--ingress</c>,
/// <c>--ingress-max-in-flight</c> or <c>VSLS_INGRESS</c>, <c>VSLS_INGRESS_MAX_IN_FLIGHT</c>.
/// </summary>
public sealed record IngressOptions
{
    /// <summary>Default ingress port (the Akka.Remote default 4053 + 1000).</summary>
    public const int DefaultPort = 5053;

    /// <summary>Default bound on the batches one stream has on the member at a time.</summary>
    public const int DefaultMaxInFlight = 8;

    /// <summary>Largest batch: 65,536 records of 64 bytes (the gRPC message limit is set from it).</summary>
    public const int MaxBatchRecords = 65_536;

    /// <summary>Address to listen on (HTTP/2 without TLS).</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>Port to listen on (0 = any free port).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>
    /// Batches of one <c>Send</c> stream that may be on the member at a time; the member reads the next
    /// batch only when one is answered, so its memory per stream is bounded by this × the batch size.
    /// </summary>
    public int MaxInFlight { get; init; } = DefaultMaxInFlight;

    /// <summary>How long a VS may take to answer a batch before its records count as unanswered.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Default number of connections a <c>ListConnections</c> call returns.</summary>
    public int DefaultListLimit { get; init; } = 10_000;

    /// <summary>Parses <c>host:port</c> (<c>[v6]:port</c> for IPv6), or <c>off</c> (returns null).</summary>
    /// <exception cref="FormatException">Neither form.</exception>
    public static IngressOptions? ParseEndpoint(string text, IngressOptions? over = null)
    {
        var t = text.Trim();
        if (t.Equals("off", StringComparison.OrdinalIgnoreCase))
            return null;
        var colon = t.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(t.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
            throw new FormatException($"'{text}' is not an ingress endpoint (host:port with a port 0-65535, or off)");
        var host = t[..colon].Trim('[', ']');
        if (!IPAddress.TryParse(host, out var address))
        {
            if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
                address = IPAddress.Loopback;
            else
                throw new FormatException($"'{host}' in '{text}' is not an IP address (the ingress listens on an address of this machine)");
        }
        return (over ?? new IngressOptions()) with { Address = address, Port = port };
    }

    /// <summary><c>host:port</c> as a client would dial it.</summary>
    public string Endpoint => Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
        ? $"[{Address}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Address}:{Port.ToString(CultureInfo.InvariantCulture)}";
}
