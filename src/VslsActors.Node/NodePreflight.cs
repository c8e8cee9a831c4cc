using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
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

    /// <summary>
    /// Reads and checks the member's TLS files (docs/tls.md): the certificate exists, is readable, opens
    /// (with the password, if any), has its private key (RSA or ECDSA), is valid at <paramref name="now"/>;
    /// the CA file holds certificates valid now; and the member's own certificate chains to that CA (a
    /// member that would be refused by every other member is stopped here, with the reason).
    /// </summary>
    /// <returns>The TLS options, or null when no certificate is given (plain TCP).</returns>
    /// <exception cref="NodeStartupException">Any of it fails; the line names the option and the file.</exception>
    public static VslsTlsOptions? LoadTls(TlsFiles files, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Certificate is not { } certFile)
        {
            foreach (var given in new[] { files.Key, files.PasswordFile, files.Ca })
            {
                if (given is not null)
                    throw new NodeStartupException($"tls: {given.Source} is given without a certificate (--tls-cert or VSLS_TLS_CERT); TLS is on only with one");
            }
            return null;
        }
        if (files.Ca is not { } caFile)
            throw new NodeStartupException($"tls: {certFile.Source} is given without a CA (--tls-ca or VSLS_TLS_CA): a member must know whose certificates it accepts");

        var password = files.Password;
        if (files.PasswordFile is { } passwordFile)
            password = Encoding.UTF8.GetString(ReadTlsFile(passwordFile, "password file")).Split('\n')[0].TrimEnd('\r');

        var certificate = LoadCertificate(certFile, files.Key, password);
        var subject = certificate.Subject;
        if (!certificate.HasPrivateKey)
            throw new NodeStartupException($"tls: {certFile.Source}: '{certFile.Path}' has no private key (certificate '{subject}'): a member must prove it owns its certificate; give a PKCS#12 file with the key, or the PEM key with --tls-key");
        CheckKeyUsable(certificate, certFile);
        CheckValidity(certificate, certFile, now, "certificate");

        var cas = LoadCas(caFile, now);
        if (VslsTls.ChainProblem(certificate, cas, now) is { } problem)
            throw new NodeStartupException($"tls: {certFile.Source}: certificate '{subject}' in '{certFile.Path}' is not issued by a CA in {caFile.Source} '{caFile.Path}': {problem}");
        return new VslsTlsOptions(certificate, cas);
    }

    private static byte[] ReadTlsFile(TlsFile file, string what)
    {
        if (Directory.Exists(file.Path))
            throw new NodeStartupException($"tls: {file.Source}: '{file.Path}' is a directory, not a {what}");
        if (!File.Exists(file.Path))
            throw new NodeStartupException($"tls: {file.Source}: {what} '{file.Path}' does not exist");
        try
        {
            return File.ReadAllBytes(file.Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NodeStartupException($"tls: {file.Source}: cannot read {what} '{file.Path}': {OneLine(e)}");
        }
    }

    private static bool IsPem(byte[] bytes) =>
        Encoding.ASCII.GetString(bytes, 0, Math.Min(bytes.Length, 4096)).Contains("-----BEGIN ", StringComparison.Ordinal);

    private static X509Certificate2 LoadCertificate(TlsFile certFile, TlsFile? keyFile, string? password)
    {
        var bytes = ReadTlsFile(certFile, "certificate file");
        if (!IsPem(bytes))
        {
            if (keyFile is not null)
                throw new NodeStartupException($"tls: {keyFile.Source} is for a PEM certificate, but '{certFile.Path}' ({certFile.Source}) is not PEM (a PKCS#12 file carries its own key)");
            try
            {
                // EphemeralKeySet: the key stays in memory, nothing is written to the user's key store.
                return X509CertificateLoader.LoadPkcs12(bytes, password, X509KeyStorageFlags.EphemeralKeySet);
            }
            catch (CryptographicException e) when (e.Message.Contains("password", StringComparison.OrdinalIgnoreCase))
            {
                throw new NodeStartupException($"tls: {certFile.Source}: cannot open '{certFile.Path}': wrong or missing password (VSLS_TLS_PASSWORD or --tls-password-file)");
            }
            catch (CryptographicException e)
            {
                throw new NodeStartupException($"tls: {certFile.Source}: '{certFile.Path}' is neither a PKCS#12 (.pfx) nor a PEM certificate: {OneLine(e)}");
            }
        }

        var text = Encoding.UTF8.GetString(bytes);
        X509Certificate2 publicOnly;
        try
        {
            publicOnly = X509Certificate2.CreateFromPem(text);
        }
        catch (CryptographicException e)
        {
            throw new NodeStartupException($"tls: {certFile.Source}: '{certFile.Path}' holds no readable PEM certificate: {OneLine(e)}");
        }
        var keySource = keyFile ?? certFile;
        var keyText = keyFile is null ? text : Encoding.UTF8.GetString(ReadTlsFile(keyFile, "key file"));
        if (!keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            // Returned without a key: the caller's HasPrivateKey check gives the one line for it.
            if (keyFile is null)
                return publicOnly;
            throw new NodeStartupException($"tls: {keyFile.Source}: '{keyFile.Path}' holds no PEM private key");
        }
        var encrypted = keyText.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal);
        if (encrypted && string.IsNullOrEmpty(password))
            throw new NodeStartupException($"tls: {keySource.Source}: the private key in '{keySource.Path}' is encrypted and no password is given (VSLS_TLS_PASSWORD or --tls-password-file)");
        try
        {
            using (publicOnly)
            {
                var withKey = encrypted
                    ? X509Certificate2.CreateFromEncryptedPem(text, keyText, password)
                    : X509Certificate2.CreateFromPem(text, keyText);
                return withKey;
            }
        }
        catch (CryptographicException e) when (encrypted)
        {
            throw new NodeStartupException($"tls: {keySource.Source}: cannot decrypt the private key in '{keySource.Path}': wrong password? ({OneLine(e)})");
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new NodeStartupException($"tls: {keySource.Source}: the private key in '{keySource.Path}' does not fit the certificate in '{certFile.Path}' or cannot be read: {OneLine(e)}");
        }
    }

    private static void CheckKeyUsable(X509Certificate2 certificate, TlsFile certFile)
    {
        // Akka.Remote (SslSettings.ValidateCertificate, 1.5.73) accepts RSA and ECDSA keys only.
        try
        {
            using var rsa = certificate.GetRSAPrivateKey();
            using var ecdsa = certificate.GetECDsaPrivateKey();
            if (rsa is null && ecdsa is null)
                throw new NodeStartupException($"tls: {certFile.Source}: the key of '{certFile.Path}' is neither RSA nor ECDSA (Akka.Remote takes only those)");
        }
        catch (CryptographicException e)
        {
            throw new NodeStartupException($"tls: {certFile.Source}: the private key of '{certFile.Path}' cannot be used: {OneLine(e)}");
        }
    }

    private static void CheckValidity(X509Certificate2 certificate, TlsFile file, DateTime now, string what)
    {
        var at = now.ToUniversalTime();
        if (at > certificate.NotAfter.ToUniversalTime())
            throw new NodeStartupException($"tls: {file.Source}: {what} '{certificate.Subject}' in '{file.Path}' expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC");
        if (at < certificate.NotBefore.ToUniversalTime())
            throw new NodeStartupException($"tls: {file.Source}: {what} '{certificate.Subject}' in '{file.Path}' is not valid before {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm:ss} UTC");
    }

    private static X509Certificate2Collection LoadCas(TlsFile caFile, DateTime now)
    {
        var bytes = ReadTlsFile(caFile, "CA file");
        var cas = new X509Certificate2Collection();
        try
        {
            if (IsPem(bytes))
                cas.ImportFromPem(Encoding.UTF8.GetString(bytes));
            else
                cas.Add(X509CertificateLoader.LoadCertificate(bytes));
        }
        catch (CryptographicException e)
        {
            throw new NodeStartupException($"tls: {caFile.Source}: '{caFile.Path}' holds no readable CA certificate (PEM or DER): {OneLine(e)}");
        }
        if (cas.Count == 0)
            throw new NodeStartupException($"tls: {caFile.Source}: '{caFile.Path}' holds no certificate");
        foreach (var ca in cas)
            CheckValidity(ca, caFile, now, "CA certificate");
        return cas;
    }

    /// <summary>Checks that every seed speaks this member's scheme (a TLS member cannot join a plain one, nor the reverse).</summary>
    /// <exception cref="NodeStartupException">A seed is given with the other scheme.</exception>
    public static void CheckSeedSchemes(IEnumerable<string> seeds, bool tls)
    {
        var wanted = (tls ? VslsTls.TlsScheme : VslsTls.PlainScheme) + "://";
        foreach (var seed in seeds)
        {
            if (!seed.StartsWith(wanted, StringComparison.Ordinal))
                throw new NodeStartupException($"seed '{seed}' does not use {wanted} although TLS is {(tls ? "on" : "off")} for this member (give seeds as host:port)");
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
