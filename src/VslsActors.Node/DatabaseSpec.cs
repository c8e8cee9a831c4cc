using Microsoft.Data.Sqlite;
using Npgsql;
using VslsActors.Cluster.Hosting;
using VslsActors.Domain.Configuration;

namespace VslsActors.Node;

/// <summary>
/// The written form of a database choice (<c>--db</c>, <c>VSLS_DB</c>):
/// <list type="bullet">
/// <item><c>postgres:Host=db;Database=vsls;Username=vsls;Password=…</c> — PostgreSQL, the rest is an Npgsql connection string;</item>
/// <item><c>sqlite:/var/lib/vsls/vsls.db</c> or a bare path <c>vsls.db</c> — a SQLite file (made absolute, so that
/// every process started from elsewhere means the same file);</item>
/// <item><c>Data Source=…</c> — a full Microsoft.Data.Sqlite connection string.</item>
/// </list>
/// </summary>
public static class DatabaseSpec
{
    /// <summary>Prefix that selects PostgreSQL.</summary>
    public const string PostgresPrefix = "postgres:";

    /// <summary>Optional prefix that selects SQLite.</summary>
    public const string SqlitePrefix = "sqlite:";

    /// <summary>Parses <paramref name="text"/>; <paramref name="source"/> names where it came from in errors.</summary>
    /// <exception cref="ConfigException">The text is empty or its connection string is malformed.</exception>
    public static DatabaseOptions Parse(string text, string source)
    {
        var t = text.Trim();
        if (t.Length == 0)
            throw new ConfigException(source, null, null, null, "no database given (a SQLite file path, or postgres:<connection string>)");
        try
        {
            if (t.StartsWith(PostgresPrefix, StringComparison.OrdinalIgnoreCase))
            {
                var cs = new NpgsqlConnectionStringBuilder(t[PostgresPrefix.Length..]);
                if (string.IsNullOrEmpty(cs.Host))
                    throw new ConfigException(source, null, null, null, "the PostgreSQL connection string names no Host");
                return new DatabaseOptions(DatabaseProvider.PostgreSql, cs.ConnectionString);
            }
            if (t.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase))
                return new DatabaseOptions(DatabaseProvider.Sqlite, new SqliteConnectionStringBuilder(t).ConnectionString);
            var path = t.StartsWith(SqlitePrefix, StringComparison.OrdinalIgnoreCase) ? t[SqlitePrefix.Length..] : t;
            if (path.Length == 0)
                throw new ConfigException(source, null, null, null, "no SQLite file path after 'sqlite:'");
            var builder = new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(path) };
            return new DatabaseOptions(DatabaseProvider.Sqlite, builder.ConnectionString);
        }
        catch (ArgumentException e)
        {
            // Connection-string builders throw ArgumentException for unknown keys or bad values.
            throw new ConfigException(source, null, null, null, $"not a valid connection string: {e.Message}");
        }
    }

    /// <summary>A short description for logs and messages, without secrets (no password).</summary>
    public static string Describe(DatabaseOptions db)
    {
        if (db.Provider == DatabaseProvider.Sqlite)
            return $"SQLite file '{new SqliteConnectionStringBuilder(db.ConnectionString).DataSource}'";
        var cs = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        return $"PostgreSQL at {cs.Host}:{cs.Port} (database '{cs.Database}')";
    }
}
