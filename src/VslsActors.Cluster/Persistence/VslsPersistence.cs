using System.Data.Common;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using Npgsql;
using VslsActors.Cluster.Hosting;

namespace VslsActors.Cluster.Persistence;

/// <summary>
/// Journal and snapshot-store configuration (Akka.Persistence.Sql, by HOCON) for the two supported
/// databases, and the pre-flight check a member runs before it starts. The settings and why each
/// has its value are documented in <c>hocon/persistence.conf</c>, which a test keeps identical to
/// what <see cref="Hocon"/> produces.
/// </summary>
/// <remarks>
/// Configured by HOCON rather than Akka.Persistence.Sql.Hosting, which is served at 1.5.70 only and
/// pulls a linq2db major version apart from the one Akka.Persistence.Sql 1.5.73 needs.
/// </remarks>
public static class VslsPersistence
{
    /// <summary>LinqToDB provider name for SQLite through Microsoft.Data.Sqlite.</summary>
    public const string SqliteProviderName = "SQLite.MS";

    /// <summary>LinqToDB provider name for PostgreSQL 15 and later through Npgsql.</summary>
    public const string PostgreSqlProviderName = "PostgreSQL15";

    /// <summary>HOCON path of the journal plugin.</summary>
    public const string JournalPluginId = "akka.persistence.journal.sql";

    /// <summary>HOCON path of the snapshot-store plugin.</summary>
    public const string SnapshotPluginId = "akka.persistence.snapshot-store.sql";

    /// <summary>
    /// The HOCON text that makes Akka.Persistence.Sql on <paramref name="database"/> the default
    /// journal and snapshot store, with tables created on first start.
    /// </summary>
    public static string HoconText(DatabaseOptions database)
    {
        ArgumentNullException.ThrowIfNull(database);
        var (provider, parallelism) = database.Provider switch
        {
            // SQLite takes one writer at a time even in WAL mode: more would only queue on its lock
            // (and time out under load).
            DatabaseProvider.Sqlite => (SqliteProviderName, 1),
            DatabaseProvider.PostgreSql => (PostgreSqlProviderName, 3),
            _ => throw new ArgumentOutOfRangeException(nameof(database), database.Provider, "unknown database provider"),
        };
        var connection = Quote(database.ConnectionString);
        return $$"""
            akka.persistence {
              journal {
                plugin = "{{JournalPluginId}}"
                sql {
                  class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
                  # key of this plugin's DataOptions in the MultiDataOptionsSetup (SQLite: synchronous=NORMAL)
                  plugin-id = "{{JournalPluginId}}"
                  connection-string = {{connection}}
                  provider-name = "{{provider}}"
                  table-mapping = default
                  auto-initialize = on
                  parallelism = {{parallelism}}
                  batch-size = 100
                  circuit-breaker {
                    max-failures = 10
                    call-timeout = 10s
                    reset-timeout = 2s
                  }
                }
              }
              snapshot-store {
                plugin = "{{SnapshotPluginId}}"
                sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  plugin-id = "{{SnapshotPluginId}}"
                  connection-string = {{connection}}
                  provider-name = "{{provider}}"
                  table-mapping = default
                  auto-initialize = on
                  circuit-breaker {
                    max-failures = 10
                    call-timeout = 30s
                    reset-timeout = 2s
                  }
                }
              }
              # The read side of the same journal: the registry's audit log (GetHistory) reads its own events.
              query.journal.sql {
                class = "Akka.Persistence.Sql.Query.SqlReadJournalProvider, Akka.Persistence.Sql"
                plugin-id = "akka.persistence.query.journal.sql"
                write-plugin = "{{JournalPluginId}}"
                connection-string = {{connection}}
                provider-name = "{{provider}}"
                table-mapping = default
              }
            }
            """;
    }

    /// <summary><see cref="HoconText"/> parsed.</summary>
    public static Config Hocon(DatabaseOptions database) => ConfigurationFactory.ParseString(HoconText(database));

    /// <summary>
    /// The setup of an ActorSystem that persists VSs without the rest of <c>AddVsls</c> (tests and
    /// benchmarks that run a VS actor on its own): the journal and snapshot store of
    /// <paramref name="database"/>, the stable-manifest serializer bound to persisted data, and for
    /// SQLite the connection pragmas members use. <paramref name="overrides"/> wins over all of it.
    /// </summary>
    public static ActorSystemSetup StandaloneSetup(DatabaseOptions database, Config? overrides = null)
    {
        var serialization = ConfigurationFactory.ParseString($$"""
            akka.actor.serializers.vsls-persistence = "{{typeof(Serialization.VslsPersistenceSerializer).AssemblyQualifiedName}}"
            akka.actor.serialization-bindings {
              "{{typeof(Protocol.IVslsPersistedData).FullName}}, {{typeof(Protocol.IVslsPersistedData).Assembly.GetName().Name}}" = vsls-persistence
            }
            """);
        var config = (overrides ?? Config.Empty).WithFallback(serialization).WithFallback(Hocon(database));
        var bootstrap = BootstrapSetup.Create().WithConfig(config);
        return SqliteConnectionPragmas.SetupFor(database) is { } sqlite
            ? ActorSystemSetup.Create(bootstrap, sqlite)
            : ActorSystemSetup.Create(bootstrap);
    }

    /// <summary>
    /// Opens one connection to <paramref name="database"/> and returns null when that works, or a
    /// one-line message naming the database (without its password) and the cause —
    /// <c>cannot open the database at 'Data Source=/x/y.db': unable to open database file</c>,
    /// <c>cannot reach PostgreSQL at Host=db;Port=5432;Database=vsls;Username=vsls: connection refused</c>
    /// — for <c>vsls node</c> to print before it exits. For SQLite it also switches the file to WAL
    /// journal mode (a property of the file, kept from then on), so that readers (recovery, queries)
    /// do not block the single writer.
    /// </summary>
    public static string? CheckReachable(DatabaseOptions database, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        return database.Provider switch
        {
            DatabaseProvider.Sqlite => CheckSqlite(database.ConnectionString),
            DatabaseProvider.PostgreSql => CheckPostgreSql(database.ConnectionString, timeout ?? TimeSpan.FromSeconds(5)),
            _ => $"unknown database provider {database.Provider}",
        };
    }

    private static string? CheckSqlite(string connectionString)
    {
        string shown = connectionString;
        try
        {
            var builder = new SqliteConnectionStringBuilder(connectionString);
            shown = $"Data Source={builder.DataSource}";
            using var connection = new SqliteConnection(builder.ConnectionString);
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL;";
            var mode = command.ExecuteScalar() as string;
            // An in-memory database answers "memory"; anything else means WAL could not be set.
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase) && !string.Equals(mode, "memory", StringComparison.OrdinalIgnoreCase))
                return $"cannot use the database at '{shown}': journal mode is '{mode}', WAL could not be set";
            return null;
        }
        catch (SqliteException e)
        {
            return $"cannot open the database at '{shown}': {SqliteCause(e)}";
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or DbException)
        {
            return $"cannot open the database at '{shown}': {OneLine(e.Message)}";
        }
    }

    private static string SqliteCause(SqliteException e)
    {
        // "SQLite Error 14: 'unable to open database file'." → "unable to open database file"
        var m = e.Message;
        var open = m.IndexOf('\'');
        var close = m.LastIndexOf('\'');
        return open >= 0 && close > open ? m[(open + 1)..close] : OneLine(m);
    }

    private static string? CheckPostgreSql(string connectionString, TimeSpan timeout)
    {
        string shown = connectionString;
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = Math.Max(1, (int)timeout.TotalSeconds) };
            var safe = new NpgsqlConnectionStringBuilder(connectionString);
            safe.Remove("Password");
            shown = safe.ConnectionString;
            using var connection = new NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            using var command = new NpgsqlCommand("select 1", connection);
            command.ExecuteScalar();
            return null;
        }
        catch (PostgresException e)
        {
            return $"cannot reach PostgreSQL at {shown}: {OneLine(e.MessageText)}";
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or ArgumentException or InvalidOperationException)
        {
            return $"cannot reach PostgreSQL at {shown}: {Innermost(e)}";
        }
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        var message = OneLine(e.Message);
        return message.Length > 0 ? char.ToLowerInvariant(message[0]) + message[1..] : message;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim().TrimEnd('.');

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
