using VslsActors.Cluster.Hosting;

namespace VslsActors.Cluster.Persistence;

/// <summary>
/// Stand-in for the persistence part's <c>VslsPersistence.Hocon(DatabaseOptions)</c> until it lands;
/// the integrator replaces this file at merge. Akka.Persistence.Sql by HOCON: journal and snapshot
/// store on one database, tables created on first start; SQLite with one writer.
/// </summary>
internal static class VslsPersistence
{
    /// <summary>Akka configuration text for journals and snapshots in <paramref name="database"/>.</summary>
    public static string Hocon(DatabaseOptions database)
    {
        ArgumentNullException.ThrowIfNull(database);
        var (provider, parallelism) = database.Provider switch
        {
            DatabaseProvider.Sqlite => ("SQLite.MS", 1),
            DatabaseProvider.PostgreSql => ("PostgreSQL15", 3),
            _ => throw new ArgumentOutOfRangeException(nameof(database), database.Provider, "unknown database provider"),
        };
        var cs = Quote(database.ConnectionString);
        return $$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
                  connection-string = {{cs}}
                  provider-name = "{{provider}}"
                  auto-initialize = on
                  parallelism = {{parallelism}}
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                  connection-string = {{cs}}
                  provider-name = "{{provider}}"
                  auto-initialize = on
                }
              }
            }
            """;
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
