using Akka.Configuration;
using Microsoft.Data.Sqlite;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Persistence;

namespace VslsActors.Cluster.Tests.Persistence;

public sealed class VslsPersistenceTests
{
    internal static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VslsActors.sln")))
                return Path.Combine(dir.FullName, relative);
        }
        throw new FileNotFoundException($"no VslsActors.sln above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void A_new_sqlite_file_is_reachable_and_switched_to_wal()
    {
        var file = Path.Combine(Path.GetTempPath(), $"vsls-tests-{Guid.NewGuid():N}.db");
        try
        {
            Assert.Null(VslsPersistence.CheckReachable(new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={file}")));
            using var db = new SqliteConnection($"Data Source={file}");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode;";
            Assert.Equal("wal", cmd.ExecuteScalar() as string);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var f in new[] { file, file + "-wal", file + "-shm" })
                File.Delete(f);
        }
    }

    [Fact]
    public void An_sqlite_file_in_a_missing_directory_gives_one_line_naming_the_file()
    {
        var error = VslsPersistence.CheckReachable(new DatabaseOptions(DatabaseProvider.Sqlite, "Data Source=/nonexistent-vsls/dir/x.db"));
        Assert.Equal("cannot open the database at 'Data Source=/nonexistent-vsls/dir/x.db': unable to open database file", error);
    }

    [Fact]
    public void An_unreachable_postgresql_gives_one_line_without_the_password()
    {
        var error = VslsPersistence.CheckReachable(
            new DatabaseOptions(DatabaseProvider.PostgreSql, "Host=127.0.0.1;Port=1;Database=vsls;Username=vsls;Password=secret"),
            TimeSpan.FromSeconds(2));
        Assert.NotNull(error);
        Assert.StartsWith("cannot reach PostgreSQL at Host=127.0.0.1;Port=1;Database=vsls;Username=vsls: ", error);
        Assert.Contains("refused", error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secret", error);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void A_malformed_connection_string_is_reported_not_thrown()
    {
        var error = VslsPersistence.CheckReachable(new DatabaseOptions(DatabaseProvider.Sqlite, "Nonsense Key=1"));
        Assert.NotNull(error);
        Assert.StartsWith("cannot open the database at ", error);
    }

    [Theory]
    [InlineData(DatabaseProvider.Sqlite, "SQLite.MS", 1)]
    [InlineData(DatabaseProvider.PostgreSql, "PostgreSQL15", 3)]
    public void The_builder_selects_the_sql_plugins_with_the_provider_and_writers_of_each_database(DatabaseProvider provider, string providerName, int parallelism)
    {
        var config = VslsPersistence.Hocon(new DatabaseOptions(provider, "Data Source=\"quoted\\path\".db"));
        Assert.Equal("akka.persistence.journal.sql", config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal("akka.persistence.snapshot-store.sql", config.GetString("akka.persistence.snapshot-store.plugin"));
        Assert.Equal(providerName, config.GetString("akka.persistence.journal.sql.provider-name"));
        Assert.Equal(providerName, config.GetString("akka.persistence.snapshot-store.sql.provider-name"));
        Assert.Equal(parallelism, config.GetInt("akka.persistence.journal.sql.parallelism"));
        Assert.True(config.GetBoolean("akka.persistence.journal.sql.auto-initialize"));
        Assert.True(config.GetBoolean("akka.persistence.snapshot-store.sql.auto-initialize"));
        Assert.Equal("Data Source=\"quoted\\path\".db", config.GetString("akka.persistence.journal.sql.connection-string"));
    }

    [Fact]
    public void Persistence_conf_documents_exactly_what_the_builder_produces_for_sqlite()
    {
        var documented = ConfigurationFactory.ParseString(File.ReadAllText(RepoFile("hocon/persistence.conf")));
        var built = VslsPersistence.Hocon(new DatabaseOptions(DatabaseProvider.Sqlite, ""));
        var documentedKeys = Flatten(documented, "akka.persistence");
        var builtKeys = Flatten(built, "akka.persistence");
        Assert.Equal(builtKeys, documentedKeys);
    }

    private static SortedDictionary<string, string> Flatten(Config config, string root)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Walk(string path)
        {
            var value = config.GetValue(path);
            if (value.IsObject())
            {
                foreach (var key in value.GetObject().Items.Keys)
                    Walk(path + "." + key);
            }
            else
            {
                result[path] = value.ToString();
            }
        }
        Walk(root);
        return result;
    }
}
