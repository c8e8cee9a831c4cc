using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace VslsActors.Node.Web;

/// <summary>
/// The member's management API (docs/management-api.md): its HTTP/1.1 endpoint and the bearer tokens
/// it accepts, each with a name that the audit log records instead of the secret. Set by <c>--api</c>,
/// <c>--api-token</c>, <c>--api-token-file</c> or <c>VSLS_API</c>, <c>VSLS_API_TOKEN</c>,
/// <c>VSLS_API_TOKENS</c>, <c>VSLS_API_TOKEN_FILE</c>. With no token the API is disabled.
/// </summary>
public sealed record ManagementOptions
{
    /// <summary>Default API port (the ingress default + 27: 5080).</summary>
    public const int DefaultPort = 5080;

    /// <summary>Name given to a token written without one (<c>secret</c> rather than <c>name:secret</c>).</summary>
    public const string DefaultTokenName = "api";

    /// <summary>Address to listen on (loopback by default: the API can change the cluster).</summary>
    public IPAddress Address { get; init; } = IPAddress.Loopback;

    /// <summary>Port to listen on (HTTP/1.1, no TLS).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Accepted tokens: secret → name.</summary>
    public ImmutableDictionary<string, string> Tokens { get; init; } = ImmutableDictionary<string, string>.Empty.WithComparers(StringComparer.Ordinal);

    /// <summary>Whether the API is served (at least one token is configured).</summary>
    public bool Enabled => !Tokens.IsEmpty;

    /// <summary>How long a request waits for the cluster (registry, shard region, VSs).</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary><c>host:port</c> as a client would dial it.</summary>
    public string Endpoint => Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
        ? $"[{Address}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Address}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Parses <c>host:port</c> (<c>[v6]:port</c>) or <c>off</c> (returns null), keeping the tokens of <paramref name="over"/>.</summary>
    /// <exception cref="FormatException">Neither form.</exception>
    public static ManagementOptions? ParseEndpoint(string text, ManagementOptions? over = null)
    {
        var t = text.Trim();
        if (t.Equals("off", StringComparison.OrdinalIgnoreCase))
            return null;
        var colon = t.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(t.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            throw new FormatException($"'{text}' is not an API endpoint (host:port with a port 1-65535, or off)");
        var host = t[..colon].Trim('[', ']');
        if (!IPAddress.TryParse(host, out var address))
        {
            if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
                address = IPAddress.Loopback;
            else
                throw new FormatException($"'{host}' in '{text}' is not an IP address (the API listens on an address of this machine)");
        }
        return (over ?? new ManagementOptions()) with { Address = address, Port = port };
    }

    /// <summary>
    /// Adds the tokens of <paramref name="text"/>: entries separated by commas (or line breaks, in a
    /// token file), each <c>name:secret</c> or a bare <c>secret</c> (named <see cref="DefaultTokenName"/>);
    /// blank entries and lines starting with <c>#</c> are skipped.
    /// </summary>
    /// <exception cref="FormatException">An entry with an empty secret or a bad name, or a secret given twice.</exception>
    public ManagementOptions WithTokens(string text)
    {
        var tokens = Tokens;
        var entries = text.Split([',', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            if (entry.StartsWith('#'))
                continue;
            var colon = entry.IndexOf(':', StringComparison.Ordinal);
            var name = colon < 0 ? DefaultTokenName : entry[..colon].Trim();
            var secret = colon < 0 ? entry : entry[(colon + 1)..].Trim();
            var where = $"token entry {(i + 1).ToString(CultureInfo.InvariantCulture)}";
            if (secret.Length == 0)
                throw new FormatException($"{where}: '{name}:' has no secret (name:secret)");
            if (!IsTokenName(name))
                throw new FormatException($"{where}: '{name}' is not a token name (1-64 letters, digits, '-', '_' or '.')");
            if (tokens.ContainsKey(secret))
                throw new FormatException($"{where}: the secret of '{name}' is given twice");
            tokens = tokens.Add(secret, name);
        }
        return this with { Tokens = tokens };
    }

    /// <summary>The name of the token whose secret is <paramref name="secret"/>, or null. Compares in constant time per token.</summary>
    public string? NameOf(string secret)
    {
        var given = Encoding.UTF8.GetBytes(secret);
        string? found = null;
        // Every token is compared (no early exit) so the time taken does not say which one nearly matched.
        foreach (var (known, name) in Tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(known)))
                found = name;
        }
        return found;
    }

    private static bool IsTokenName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
