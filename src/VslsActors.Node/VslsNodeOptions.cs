using System.Globalization;
using VslsActors.Cluster.Hosting;
using VslsActors.Domain;
using VslsActors.Domain.Configuration;

namespace VslsActors.Node;

/// <summary>
/// Settings one member process runs with. Resolved by <see cref="Resolve"/> from, lowest precedence
/// first: the defaults below, environment variables (<c>VSLS_MEMBER</c>, <c>VSLS_HOST</c>,
/// <c>VSLS_PORT</c>, <c>VSLS_SEEDS</c>, <c>VSLS_DB</c>, <c>VSLS_TOPOLOGY</c>, <c>VSLS_CONFIG</c>,
/// <c>VSLS_INGRESS</c>, <c>VSLS_INGRESS_MAX_IN_FLIGHT</c>, <c>VSLS_API</c>, <c>VSLS_API_TOKEN</c>,
/// <c>VSLS_API_TOKENS</c>, <c>VSLS_API_TOKEN_FILE</c>), then command-line options (<c>--member</c>,
/// <c>--host</c>, <c>--port</c>, <c>--seeds</c>, <c>--db</c>, <c>--topology</c>, <c>--config</c>,
/// <c>--ingress</c>, <c>--ingress-max-in-flight</c>, <c>--api</c>, <c>--api-token</c>, <c>--api-token-file</c>).
/// Tokens from every source add up.
/// </summary>
public sealed record VslsNodeOptions
{
    /// <summary>Default Akka.Remote port of a member.</summary>
    public const int DefaultPort = 4053;

    /// <summary>This member's name; must be one of the topology's members.</summary>
    public MemberName Member { get; init; } = new("member-1");

    /// <summary>Address to bind and advertise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Akka.Remote port (0 = any free port; others cannot then use this member as a seed).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Seed nodes as <c>host:port</c>; empty = this member alone is its own seed (a one-member cluster, or the first member).</summary>
    public IReadOnlyList<string> Seeds { get; init; } = [];

    /// <summary>Where journals and checkpoints live (see <see cref="DatabaseSpec"/> for the written form).</summary>
    public DatabaseOptions Database { get; init; } = DatabaseSpec.Parse("vsls.db", "default");

    /// <summary>The topology file.</summary>
    public string TopologyPath { get; init; } = Path.Combine("hocon", "topology.conf");

    /// <summary>An extra HOCON file applied over the shipped defaults (timings, logging), or null.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>The gRPC ingress endpoint and limits (docs/ingress.md); null = no ingress (<c>--ingress off</c>).</summary>
    public Web.IngressOptions? Ingress { get; init; } = new();

    /// <summary>The management API endpoint and tokens (docs/management-api.md); null = <c>--api off</c>; no token = disabled.</summary>
    public Web.ManagementOptions? Management { get; init; } = new();

    /// <summary>Seed nodes as Akka addresses (<c>akka.tcp://vsls@host:port</c>); this member itself when none are given.</summary>
    public IReadOnlyList<string> SeedAddresses() =>
        Seeds.Count == 0
            ? [$"akka.tcp://{VslsClusterOptions.SystemName}@{Host}:{Port.ToString(CultureInfo.InvariantCulture)}"]
            : Seeds.Select(s => s.Contains("://", StringComparison.Ordinal) ? s : $"akka.tcp://{VslsClusterOptions.SystemName}@{s}").ToArray();

    /// <summary>The names of the environment variables, in option order.</summary>
    public static IReadOnlyList<string> EnvironmentVariables { get; } =
        ["VSLS_MEMBER", "VSLS_HOST", "VSLS_PORT", "VSLS_SEEDS", "VSLS_DB", "VSLS_TOPOLOGY", "VSLS_CONFIG", "VSLS_INGRESS", "VSLS_INGRESS_MAX_IN_FLIGHT", "VSLS_API", "VSLS_API_TOKEN", "VSLS_API_TOKENS", "VSLS_API_TOKEN_FILE"];

    /// <summary>
    /// Applies <paramref name="environment"/> (variables as read from the process; null or empty values
    /// are ignored) and then <paramref name="arguments"/> over the defaults.
    /// </summary>
    /// <exception cref="ConfigException">A value is malformed; the message names the variable or option.</exception>
    public static VslsNodeOptions Resolve(IReadOnlyDictionary<string, string?> environment, NodeArguments arguments)
    {
        var o = new VslsNodeOptions();
        o = Apply(o, "environment variable VSLS_", v => environment.TryGetValue("VSLS_" + v, out var s) && !string.IsNullOrWhiteSpace(s) ? s : null);
        var cli = new Dictionary<string, string?>
        {
            ["MEMBER"] = arguments.Member,
            ["HOST"] = arguments.Host,
            ["PORT"] = arguments.Port?.ToString(CultureInfo.InvariantCulture),
            ["SEEDS"] = arguments.Seeds,
            ["DB"] = arguments.Db,
            ["TOPOLOGY"] = arguments.Topology,
            ["CONFIG"] = arguments.Config,
            ["INGRESS"] = arguments.Ingress,
            ["INGRESS_MAX_IN_FLIGHT"] = arguments.IngressMaxInFlight?.ToString(CultureInfo.InvariantCulture),
            ["API"] = arguments.Api,
            ["API_TOKEN"] = arguments.ApiToken,
            ["API_TOKENS"] = null,
            ["API_TOKEN_FILE"] = arguments.ApiTokenFile,
        };
        return Apply(o, "option --", v => cli[v]);
    }

    /// <summary>Reads the current process's VSLS_* variables.</summary>
    public static IReadOnlyDictionary<string, string?> ProcessEnvironment()
    {
        var d = new Dictionary<string, string?>();
        foreach (var name in EnvironmentVariables)
            d[name] = Environment.GetEnvironmentVariable(name);
        return d;
    }

    private static VslsNodeOptions Apply(VslsNodeOptions o, string sourcePrefix, Func<string, string?> get)
    {
        string Source(string name) => sourcePrefix.EndsWith("--", StringComparison.Ordinal) ? sourcePrefix + name.ToLowerInvariant().Replace('_', '-') : sourcePrefix + name;

        if (get("MEMBER") is { } member)
        {
            if (!MemberName.IsValid(member))
                throw new ConfigException(Source("MEMBER"), null, null, null, $"'{member}' is not a member name (1-64 letters, digits, '-', '_' or '.')");
            o = o with { Member = new MemberName(member) };
        }
        if (get("HOST") is { } host)
            o = o with { Host = host.Trim() };
        if (get("PORT") is { } port)
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > 65535)
                throw new ConfigException(Source("PORT"), null, null, null, $"'{port}' is not a port (0-65535)");
            o = o with { Port = p };
        }
        if (get("SEEDS") is { } seeds)
            o = o with { Seeds = ParseSeeds(seeds, Source("SEEDS")) };
        if (get("DB") is { } db)
            o = o with { Database = DatabaseSpec.Parse(db, Source("DB")) };
        if (get("TOPOLOGY") is { } topology)
            o = o with { TopologyPath = topology };
        if (get("CONFIG") is { } config)
            o = o with { ConfigPath = config };
        if (get("INGRESS") is { } ingress)
        {
            try
            {
                o = o with { Ingress = Web.IngressOptions.ParseEndpoint(ingress, o.Ingress) };
            }
            catch (FormatException e)
            {
                throw new ConfigException(Source("INGRESS"), null, null, null, e.Message);
            }
        }
        if (get("INGRESS_MAX_IN_FLIGHT") is { } inFlight)
        {
            if (!int.TryParse(inFlight, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 1024)
                throw new ConfigException(Source("INGRESS_MAX_IN_FLIGHT"), null, null, null, $"'{inFlight}' is not a batch count (1-1024)");
            if (o.Ingress is { } current)
                o = o with { Ingress = current with { MaxInFlight = n } };
        }
        try
        {
            if (get("API") is { } api)
                o = o with { Management = Web.ManagementOptions.ParseEndpoint(api, o.Management) };
        }
        catch (FormatException e)
        {
            throw new ConfigException(Source("API"), null, null, null, e.Message);
        }
        foreach (var variable in (string[])["API_TOKEN", "API_TOKENS", "API_TOKEN_FILE"])
        {
            if (get(variable) is not { } value || o.Management is not { } management)
                continue;
            string text;
            if (variable == "API_TOKEN_FILE")
            {
                try
                {
                    text = File.ReadAllText(value);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ConfigException(Source(variable), null, null, null, $"cannot read token file '{value}': {e.Message}");
                }
            }
            else
            {
                text = value;
            }
            try
            {
                o = o with { Management = management.WithTokens(text) };
            }
            catch (FormatException e)
            {
                throw new ConfigException(Source(variable), null, null, null, e.Message);
            }
        }
        return o;
    }

    /// <summary>Parses a comma-separated list of <c>host:port</c> (or full <c>akka.tcp://vsls@host:port</c>) seeds.</summary>
    /// <exception cref="ConfigException">An entry is not of that form.</exception>
    public static IReadOnlyList<string> ParseSeeds(string text, string source)
    {
        var result = new List<string>();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var hostPort = raw;
            if (raw.Contains("://", StringComparison.Ordinal))
            {
                var at = raw.LastIndexOf('@');
                if (!raw.StartsWith("akka.tcp://", StringComparison.Ordinal) || at < 0)
                    throw new ConfigException(source, null, null, null, $"'{raw}' is not a seed (host:port or akka.tcp://{VslsClusterOptions.SystemName}@host:port)");
                hostPort = raw[(at + 1)..];
            }
            var colon = hostPort.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(hostPort[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                throw new ConfigException(source, null, null, null, $"'{raw}' is not a seed (host:port with a port 1-65535)");
            result.Add(raw);
        }
        if (result.Count == 0)
            throw new ConfigException(source, null, null, null, "no seed given (host:port[,host:port...])");
        return result;
    }
}

/// <summary>The <c>vsls node</c> command-line options as given (null = not given).</summary>
public sealed record NodeArguments(
    string? Member = null,
    string? Host = null,
    int? Port = null,
    string? Seeds = null,
    string? Db = null,
    string? Topology = null,
    string? Config = null,
    string? Ingress = null,
    int? IngressMaxInFlight = null,
    string? Api = null,
    string? ApiToken = null,
    string? ApiTokenFile = null);
