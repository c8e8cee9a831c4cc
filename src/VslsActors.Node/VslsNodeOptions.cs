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
/// <c>VSLS_API_TOKENS</c>, <c>VSLS_API_TOKEN_FILE</c>, <c>VSLS_TLS_CERT</c>, <c>VSLS_TLS_KEY</c>,
/// <c>VSLS_TLS_PASSWORD</c>, <c>VSLS_TLS_PASSWORD_FILE</c>, <c>VSLS_TLS_CA</c>), then command-line options
/// (<c>--member</c>, <c>--host</c>, <c>--port</c>, <c>--seeds</c>, <c>--db</c>, <c>--topology</c>, <c>--config</c>,
/// <c>--ingress</c>, <c>--ingress-max-in-flight</c>, <c>--api</c>, <c>--api-token</c>, <c>--api-token-file</c>,
/// <c>--tls-cert</c>, <c>--tls-key</c>, <c>--tls-password-file</c>, <c>--tls-ca</c>).
/// Tokens from every source add up. The TLS password has no option, only the variable or a file: a
/// command line is visible to every user of the machine (<c>ps</c>).
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

    /// <summary>Member-to-member TLS files (docs/tls.md); TLS is on when a certificate is given.</summary>
    public TlsFiles Tls { get; init; } = new();

    /// <summary>
    /// Seed nodes as Akka addresses (<c>akka.tcp://vsls@host:port</c>, or <c>akka.ssl.tcp://…</c> with TLS);
    /// this member itself when none are given.
    /// </summary>
    public IReadOnlyList<string> SeedAddresses()
    {
        var scheme = Tls.Enabled ? VslsTls.TlsScheme : VslsTls.PlainScheme;
        return Seeds.Count == 0
            ? [$"{scheme}://{VslsClusterOptions.SystemName}@{Host}:{Port.ToString(CultureInfo.InvariantCulture)}"]
            : Seeds.Select(s => s.Contains("://", StringComparison.Ordinal) ? s : $"{scheme}://{VslsClusterOptions.SystemName}@{s}").ToArray();
    }

    /// <summary>
    /// The settings as <c>name: value</c> lines, for <c>vsls node --dry-run</c>: what the member would run
    /// with. Secrets are left out (API token names only; the TLS password as "given" or not).
    /// </summary>
    public string Describe()
    {
        var lines = new List<string>
        {
            $"member: {Member}",
            $"remote: {Host}:{Port.ToString(CultureInfo.InvariantCulture)}",
            $"seeds: {string.Join(", ", SeedAddresses())}",
            $"database: {DatabaseSpec.Describe(Database)}",
            $"topology: {TopologyPath}",
            $"config: {ConfigPath ?? "(none)"}",
            $"ingress: {(Ingress is null ? "off" : Ingress.Endpoint)}",
            $"api: {(Management is null ? "off" : Management.Enabled ? Management.Endpoint + " (tokens: " + string.Join(", ", Management.Tokens.Values.Distinct().Order(StringComparer.Ordinal)) + ")" : Management.Endpoint + " (disabled: no token)")}",
            Tls.Enabled
                ? $"tls: on (certificate {Tls.Certificate!.Path}, key {Tls.Key?.Path ?? "in the certificate file"}, CA {Tls.Ca?.Path ?? "(none)"}, password {(Tls.PasswordFile is { } f ? "from " + f.Path : Tls.Password is null ? "none" : "given")})"
                : "tls: off",
        };
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>The names of the environment variables, in option order.</summary>
    public static IReadOnlyList<string> EnvironmentVariables { get; } =
        ["VSLS_MEMBER", "VSLS_HOST", "VSLS_PORT", "VSLS_SEEDS", "VSLS_DB", "VSLS_TOPOLOGY", "VSLS_CONFIG", "VSLS_INGRESS", "VSLS_INGRESS_MAX_IN_FLIGHT", "VSLS_API", "VSLS_API_TOKEN", "VSLS_API_TOKENS", "VSLS_API_TOKEN_FILE",
         "VSLS_TLS_CERT", "VSLS_TLS_KEY", "VSLS_TLS_PASSWORD", "VSLS_TLS_PASSWORD_FILE", "VSLS_TLS_CA"];

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
            ["TLS_CERT"] = arguments.TlsCert,
            ["TLS_KEY"] = arguments.TlsKey,
            ["TLS_PASSWORD"] = null,
            ["TLS_PASSWORD_FILE"] = arguments.TlsPasswordFile,
            ["TLS_CA"] = arguments.TlsCa,
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
        // Paths only: the files are read and checked by NodePreflight.LoadTls, before anything starts.
        TlsFile? TlsPath(string variable) => get(variable) is { } path ? new TlsFile(path.Trim(), Source(variable)) : null;
        var tls = o.Tls;
        tls = tls with
        {
            Certificate = TlsPath("TLS_CERT") ?? tls.Certificate,
            Key = TlsPath("TLS_KEY") ?? tls.Key,
            PasswordFile = TlsPath("TLS_PASSWORD_FILE") ?? tls.PasswordFile,
            Ca = TlsPath("TLS_CA") ?? tls.Ca,
        };
        if (get("TLS_PASSWORD") is { } password)
            tls = tls with { Password = password };
        return o with { Tls = tls };
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
                if (!(raw.StartsWith("akka.tcp://", StringComparison.Ordinal) || raw.StartsWith("akka.ssl.tcp://", StringComparison.Ordinal)) || at < 0)
                    throw new ConfigException(source, null, null, null, $"'{raw}' is not a seed (host:port, akka.tcp://{VslsClusterOptions.SystemName}@host:port or akka.ssl.tcp://{VslsClusterOptions.SystemName}@host:port)");
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
    string? ApiTokenFile = null,
    string? TlsCert = null,
    string? TlsKey = null,
    string? TlsPasswordFile = null,
    string? TlsCa = null);

/// <summary>A file named by an option or variable, with that source for error lines (<c>option --tls-cert</c>).</summary>
/// <param name="Path">The path as given.</param>
/// <param name="Source">Where it came from: <c>option --tls-cert</c> or <c>environment variable VSLS_TLS_CERT</c>.</param>
public sealed record TlsFile(string Path, string Source);

/// <summary>
/// The member-to-member TLS files as given (docs/tls.md); read and checked by
/// <see cref="NodePreflight.LoadTls"/> before anything starts.
/// </summary>
public sealed record TlsFiles
{
    /// <summary>This member's certificate: PKCS#12 (<c>.pfx</c>/<c>.p12</c>, with its key) or PEM (<c>--tls-cert</c>).</summary>
    public TlsFile? Certificate { get; init; }

    /// <summary>The PEM private key of a PEM certificate, when it is not in the certificate's file (<c>--tls-key</c>).</summary>
    public TlsFile? Key { get; init; }

    /// <summary>The password of the PKCS#12 file or of an encrypted PEM key (<c>VSLS_TLS_PASSWORD</c>).</summary>
    public string? Password { get; init; }

    /// <summary>A file whose first line is that password (<c>--tls-password-file</c>); wins over <see cref="Password"/>.</summary>
    public TlsFile? PasswordFile { get; init; }

    /// <summary>PEM file of the CA certificate(s) whose member certificates are accepted (<c>--tls-ca</c>).</summary>
    public TlsFile? Ca { get; init; }

    /// <summary>True when a certificate is given: TLS is on.</summary>
    public bool Enabled => Certificate is not null;

    // The generated ToString would print the password wherever options are logged.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"Certificate = {Certificate}, Key = {Key}, Password = {(Password is null ? "(none)" : "(given)")}, PasswordFile = {PasswordFile}, Ca = {Ca}");
        return true;
    }
}
