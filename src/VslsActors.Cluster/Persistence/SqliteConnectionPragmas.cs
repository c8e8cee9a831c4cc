using System.Data.Common;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Interceptors;
using VslsActors.Cluster.Hosting;

namespace VslsActors.Cluster.Persistence;

/// <summary>
/// Sets two pragmas on every SQLite connection the journal and snapshot store open:
/// <list type="bullet">
/// <item><c>synchronous=NORMAL</c>. In WAL mode SQLite's default (FULL) fsyncs the WAL on every
/// commit; measured on the demo machine that is ~10 ms per commit (0.06 ms with NORMAL). NORMAL in
/// WAL mode stays consistent and loses nothing on a process crash (kill -9 included: the WAL is in
/// the OS page cache); only an OS crash or power loss can lose the last commits.</item>
/// <item><c>busy_timeout=5000</c>. Several member processes share one file on the embedded
/// default, so writers meet a locked database. Without a native busy timeout SQLite returns
/// SQLITE_BUSY at once and Microsoft.Data.Sqlite retries in managed code after sleeping 150 ms:
/// every collision cost a VS 150 ms, which capped the whole demo cluster at a few dozen journal
/// writes per second. With it, SQLite itself waits in short steps for the lock to clear.</item>
/// </list>
/// See hocon/persistence.conf.
/// </summary>
/// <remarks>
/// Microsoft.Data.Sqlite has no connection-string keyword for it and the pragma is per connection,
/// so it is applied through a linq2db connection interceptor, handed to Akka.Persistence.Sql as a
/// <see cref="MultiDataOptionsSetup"/> keyed by the plugins' <c>plugin-id</c>.
/// </remarks>
internal sealed class SqliteConnectionPragmas : IConnectionInterceptor
{
    public static readonly SqliteConnectionPragmas Instance = new();

    private const string Pragma = "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;";

    private SqliteConnectionPragmas() { }

    /// <summary>The setup that gives both SQL plugins this interceptor, or null when the database is not SQLite.</summary>
    public static MultiDataOptionsSetup? SetupFor(DatabaseOptions database)
    {
        ArgumentNullException.ThrowIfNull(database);
        if (database.Provider != DatabaseProvider.Sqlite)
            return null;
        var options = new DataOptions()
            .UseConnectionString(ProviderName.SQLiteMS, database.ConnectionString)
            .UseInterceptor(Instance);
        var setup = new MultiDataOptionsSetup();
        setup.AddDataOptions(VslsPersistence.JournalPluginId, options);
        setup.AddDataOptions(VslsPersistence.SnapshotPluginId, options);
        return setup;
    }

    public void ConnectionOpening(ConnectionEventData eventData, DbConnection connection) { }

    public Task ConnectionOpeningAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    public void ConnectionOpened(ConnectionEventData eventData, DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
    }

    public async Task ConnectionOpenedAsync(ConnectionEventData eventData, DbConnection connection, CancellationToken cancellationToken)
    {
        var command = connection.CreateCommand();
        await using (command.ConfigureAwait(false))
        {
            command.CommandText = Pragma;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
