using VslsActors.Domain;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Hosting;

/// <summary>Which database holds journals and checkpoints.</summary>
public enum DatabaseProvider
{
    /// <summary>An embedded SQLite file (one machine; WAL; one writer at a time).</summary>
    Sqlite,
    /// <summary>A PostgreSQL server (multi-host clusters, docker-compose).</summary>
    PostgreSql,
}

/// <summary>Where journals and checkpoints live.</summary>
/// <param name="Provider">The database kind.</param>
/// <param name="ConnectionString">An ADO.NET connection string (<c>Data Source=vsls.db</c>, <c>Host=…;Database=…</c>).</param>
public sealed record DatabaseOptions(DatabaseProvider Provider, string ConnectionString)
{
    /// <summary>The embedded default: <c>vsls.db</c> in the working directory.</summary>
    public static DatabaseOptions DefaultSqlite { get; } = new(DatabaseProvider.Sqlite, "Data Source=vsls.db");
}

/// <summary>
/// Everything one process needs to join the VSLS cluster. A member (<see cref="HostsVirtualSystems"/>)
/// carries the roles <c>vsls-member</c> and <c>member:&lt;name&gt;</c> and may host VSs; a driver
/// (the demo's traffic source) joins without hosting anything and reaches VSs through a shard
/// region proxy.
/// </summary>
public sealed record VslsClusterOptions
{
    /// <summary>Cluster system name shared by all members.</summary>
    public const string SystemName = "vsls";

    /// <summary>Role every VS-hosting member carries; sharding, the coordinator and singletons run only there.</summary>
    public const string MemberRole = "vsls-member";

    /// <summary>Prefix of the role that carries a member's name (<c>member:member-2</c>).</summary>
    public const string MemberNameRolePrefix = "member:";

    /// <summary>This process's member name (a driver has a name too, used only in logs).</summary>
    public required MemberName Member { get; init; }

    /// <summary>Address to bind and advertise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Akka.Remote port (0 = any free port, for tests).</summary>
    public int Port { get; init; }

    /// <summary>Seed node addresses, <c>akka.tcp://vsls@host:port</c> (<c>akka.ssl.tcp://…</c> with <see cref="Tls"/>).</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    /// <summary>The configured topology (VSs, policies, priority lists, modes).</summary>
    public required Topology Topology { get; init; }

    /// <summary>Journal and checkpoint storage.</summary>
    public DatabaseOptions Database { get; init; } = DatabaseOptions.DefaultSqlite;

    /// <summary>False for a driver process that sends traffic but hosts no VS.</summary>
    public bool HostsVirtualSystems { get; init; } = true;

    /// <summary>Extra HOCON (file contents) applied over the shipped defaults, e.g. test timings.</summary>
    public string? ExtraHocon { get; init; }

    /// <summary>Member-to-member TLS (docs/tls.md); null = plain TCP.</summary>
    public VslsTlsOptions? Tls { get; init; }

    /// <summary>The Akka address scheme this member speaks: <c>akka.ssl.tcp</c> with TLS, else <c>akka.tcp</c>.</summary>
    public string AddressScheme => Tls is null ? VslsTls.PlainScheme : VslsTls.TlsScheme;

    /// <summary>The Akka address of a member of this cluster at <paramref name="host"/>:<paramref name="port"/>.</summary>
    public string AddressOf(string host, int port) =>
        $"{AddressScheme}://{SystemName}@{host}:{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}
