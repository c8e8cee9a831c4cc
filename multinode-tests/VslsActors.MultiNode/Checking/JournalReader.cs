using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace VslsActors.MultiNode.Checking;

/// <summary>
/// Reads the journal table straight from the database (not through Akka): what was really written,
/// for rule (d). Akka.Persistence.Sql's default table mapping: <c>journal(persistence_id,
/// sequence_number, writer_uuid, ...)</c>.
/// </summary>
public static class JournalReader
{
    private const string Query = "SELECT persistence_id, sequence_number, writer_uuid FROM journal";

    /// <summary>Every row of a SQLite journal.</summary>
    public static async Task<IReadOnlyList<JournalRow>> ReadSqliteAsync(string databasePath, CancellationToken ct = default)
    {
        var cs = new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ConnectionString;
        await using var connection = new SqliteConnection(cs);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        return await ReadAsync(connection, ct).ConfigureAwait(false);
    }

    /// <summary>Every row of a PostgreSQL journal (the connection string's search path picks the schema).</summary>
    public static async Task<IReadOnlyList<JournalRow>> ReadPostgresAsync(string connectionString, CancellationToken ct = default)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        return await ReadAsync(connection, ct).ConfigureAwait(false);
    }

    private static async Task<IReadOnlyList<JournalRow>> ReadAsync(DbConnection connection, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Query;
        var rows = new List<JournalRow>();
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
            rows.Add(new JournalRow(reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? "" : Convert.ToString(reader.GetValue(2), System.Globalization.CultureInfo.InvariantCulture) ?? ""));
        return rows;
    }
}
