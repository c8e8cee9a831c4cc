using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;
using VslsActors.Cluster.Hosting;
using VslsActors.Domain;
using VslsActors.Domain.Configuration;
using VslsActors.Domain.Topology;

namespace VslsActors.Node;

/// <summary>
/// A member cannot start for a reason an operator can fix; <see cref="Exception.Message"/> is one
/// line saying what and where, printed as is (never with a stack trace).
/// </summary>
public sealed class NodeStartupException(string message) : Exception(message);

/// <summary>
/// The checks a member makes before it starts Akka, each failing with one line: the topology loads
/// and names this member; the port is free (bound and released here, because Akka.Remote's own bind
/// failure surfaces as a logged stack trace and a host that stops with code 0); the database answers.
/// </summary>
public static class NodePreflight
{
    /// <summary>Loads the topology.</summary>
    /// <exception cref="NodeStartupException">The file is missing, unreadable or invalid (the <see cref="ConfigException"/> line).</exception>
    public static Topology LoadTopology(string path)
    {
        try
        {
            return TopologyLoader.Load(path);
        }
        catch (ConfigException e)
        {
            throw new NodeStartupException($"topology: {e.Message}");
        }
    }

    /// <summary>Checks that <paramref name="member"/> is one of the topology's members.</summary>
    /// <exception cref="NodeStartupException">It is not.</exception>
    public static void CheckMember(Topology topology, MemberName member, string topologyPath)
    {
        if (!topology.Members.Contains(member))
            throw new NodeStartupException($"member '{member}' is not in the members of {topologyPath} ({string.Join(", ", topology.Members)})");
    }

    /// <summary>Binds <paramref name="host"/>:<paramref name="port"/> and releases it.</summary>
    /// <exception cref="NodeStartupException">The host is not an address of this machine or the port is in use.</exception>
    public static void CheckPort(string host, int port, string option = "--port")
    {
        IPAddress address;
        if (!IPAddress.TryParse(host, out address!))
        {
            try
            {
                address = Dns.GetHostAddresses(host).FirstOrDefault()
                          ?? throw new NodeStartupException($"host '{host}' has no address");
            }
            catch (SocketException e)
            {
                throw new NodeStartupException($"host '{host}' cannot be resolved: {e.Message}");
            }
        }
        var listener = new TcpListener(address, port);
        try
        {
            // Exclusive: a port that another process listens on must fail here, not in Akka.
            listener.ExclusiveAddressUse = true;
            listener.Start();
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            throw new NodeStartupException($"port {port} on {host} is already in use (another member or program listens there; choose {option})");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
        {
            throw new NodeStartupException($"host '{host}' is not an address of this machine (choose {(option == "--port" ? "--host" : option)})");
        }
        catch (SocketException e)
        {
            throw new NodeStartupException($"cannot bind {host}:{port}: {e.Message}");
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Opens the database once within <paramref name="timeout"/>.</summary>
    /// <exception cref="NodeStartupException">It cannot be opened or reached.</exception>
    public static async Task CheckDatabaseAsync(DatabaseOptions database, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var what = DatabaseSpec.Describe(database);
        if (database.Provider == DatabaseProvider.Sqlite)
        {
            var file = new SqliteConnectionStringBuilder(database.ConnectionString).DataSource;
            var directory = Path.GetDirectoryName(Path.GetFullPath(file));
            if (directory is not null && !Directory.Exists(directory))
                throw new NodeStartupException($"database: cannot open {what}: directory '{directory}' does not exist");
            try
            {
                await using var connection = new SqliteConnection(database.ConnectionString);
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT 1";
                await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (SqliteException e)
            {
                throw new NodeStartupException($"database: cannot open {what}: {OneLine(e)}");
            }
            return;
        }

        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        builder.Timeout = Math.Max(1, Math.Min(builder.Timeout, (int)Math.Ceiling(timeout.TotalSeconds)));
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or InvalidOperationException)
        {
            throw new NodeStartupException($"database: cannot reach {what}: {OneLine(e)}");
        }
    }

    /// <summary>An exception's message and its inner messages on one line.</summary>
    public static string OneLine(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null && parts.Count < 3; x = x.InnerException)
        {
            var m = x.Message.ReplaceLineEndings(" ").Trim();
            if (m.Length > 0 && !parts.Contains(m))
                parts.Add(m);
        }
        return string.Join(": ", parts);
    }
}
