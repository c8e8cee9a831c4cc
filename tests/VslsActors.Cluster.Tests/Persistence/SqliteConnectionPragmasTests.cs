using Microsoft.Data.Sqlite;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Persistence;
using Xunit;

namespace VslsActors.Cluster.Tests.Persistence;

/// <summary>The SQLite connection pragmas (synchronous=NORMAL, busy_timeout) and their setup.</summary>
public sealed class SqliteConnectionPragmasTests
{
    [Fact]
    public void An_opened_connection_runs_with_synchronous_normal_and_a_native_busy_timeout()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vsls-tests-{Guid.NewGuid():N}.db");
        try
        {
            using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
            connection.Open();
            SqliteConnectionPragmas.Instance.ConnectionOpened(default, connection);
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA synchronous;";
            // 0 OFF, 1 NORMAL, 2 FULL (the default).
            Assert.Equal(1L, (long)command.ExecuteScalar()!);
            // Without it a locked database costs a managed 150 ms retry sleep in Microsoft.Data.Sqlite.
            command.CommandText = "PRAGMA busy_timeout;";
            Assert.Equal(5000L, (long)command.ExecuteScalar()!);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_setup_covers_both_plugins_for_sqlite_and_nothing_for_postgresql()
    {
        var sqlite = SqliteConnectionPragmas.SetupFor(DatabaseOptions.DefaultSqlite);
        Assert.NotNull(sqlite);
        Assert.True(sqlite!.TryGetDataOptionsFor(VslsPersistence.JournalPluginId, out _));
        Assert.True(sqlite.TryGetDataOptionsFor(VslsPersistence.SnapshotPluginId, out _));
        Assert.Contains("plugin-id = \"" + VslsPersistence.JournalPluginId + "\"", VslsPersistence.HoconText(DatabaseOptions.DefaultSqlite));

        var postgres = SqliteConnectionPragmas.SetupFor(new DatabaseOptions(DatabaseProvider.PostgreSql, "Host=localhost;Database=x;Username=u;Password=p"));
        Assert.Null(postgres);
    }
}
