using System.Data.Common;
using Akka.Persistence.Sql.Config;
using LinqToDB;
using LinqToDB.Interceptors;
using VslsActors.Cluster.Hosting;

namespace VslsActors.Cluster.Persistence;

/// <summary>
/// Sets <c>PRAGMA synchronous=NORMAL</c> on every SQLite connection the journal and snapshot store
/// open. Why: in WAL mode SQLite's default (FULL) fsyncs the WAL on every commit; measured on the
/// demo machine that is ~10 ms per commit (0.06 ms with NORMAL), and with one writer per process it
/// capped the whole cluster at a few dozen journal writes per second. NORMAL in WAL mode stays
/// consistent and loses nothing on a process crash (kill -9 included: the WAL is in the OS page
/// cache); only an OS crash or power loss can lose the last commits. See hocon/persistence.conf.
/// </summary>
/// <remarks>
/// Microsoft.Data.Sqlite has no connection-string keyword for it and the pragma is per connection,
/// so it is applied through a linq2db connection interceptor, handed to Akka.Persistence.Sql as a
/// <see cref="MultiDataOptionsSetup"/> keyed by the plugins' <c>plugin-id</c>.
/// </remarks>
internal sealed class SqliteSynchronousNormal : IConnectionInterceptor
{
    public static readonly SqliteSynchronousNormal Instance = new();

    private const string Pragma = "PRAGMA synchronous=NORMAL;";

    private SqliteSynchronousNormal() { }

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
