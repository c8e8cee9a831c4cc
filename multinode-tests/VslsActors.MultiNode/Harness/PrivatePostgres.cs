using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Npgsql;
using VslsActors.MultiNode.Network;
using VslsActors.Node;

namespace VslsActors.MultiNode.Harness;

/// <summary>How <see cref="PrivatePostgres.StopAsync"/> stops the server (<c>pg_ctl stop -m …</c>).</summary>
public enum PostgresStopMode
{
    /// <summary>Clients are disconnected, a shutdown checkpoint is written: the orderly stop of a maintenance window.</summary>
    Fast,

    /// <summary>
    /// Every server process quits at once, without a checkpoint: a crash stop. The next start replays the WAL
    /// (crash recovery), so only what was committed — fsynced, as fsync stays on — is there afterwards.
    /// </summary>
    Immediate,
}

/// <summary>
/// A PostgreSQL 15 server of one test run, so that a spec can really stop and restart "the database"
/// while other test projects keep using the machine's shared server (<c>pg_ctlcluster 15 main</c>).
/// <list type="bullet">
/// <item>Runs as the <c>postgres</c> OS user (<c>runuser</c>; initdb refuses root) on a data directory
/// <c>/tmp/vsls-multinode/postgres/&lt;run&gt;/data</c>, listening on 127.0.0.1 and a free port below the
/// ephemeral range, its unix socket in the run folder; role <c>vsls</c> (superuser) with a random password
/// (scram-sha-256 over TCP). Small settings, but fsync, synchronous_commit and full_page_writes stay on: the
/// point is durability across a crash stop.</item>
/// <item>No server outlives the run: <see cref="DisposeAsync"/> stops it and deletes the folder, the test
/// host's <see cref="AppDomain.ProcessExit"/> kills any still running, and when the test host itself was
/// killed, the next <see cref="StartAsync"/> (or <see cref="ReapAbandoned"/>) finds run folders whose owner
/// process is gone, stops the postmaster whose working directory is their data directory, and deletes them.</item>
/// </list>
/// Needs root (<see cref="PrivatePostgresRequirements"/>).
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    /// <summary>PostgreSQL 15's server binaries (Debian's postgresql-15).</summary>
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>
    /// Where every run's folder lives. Under /tmp itself, not <see cref="Path.GetTempPath"/>: the <c>postgres</c>
    /// user must be able to reach it, and a test runner's TMPDIR may be private to root.
    /// </summary>
    public const string Root = "/tmp/vsls-multinode/postgres";

    /// <summary>The OS user the server runs as.</summary>
    public const string OsUser = "postgres";

    /// <summary>The tool that switches to <see cref="OsUser"/>.</summary>
    public const string RunUser = "/usr/sbin/runuser";

    /// <summary>The role the members log in as (the superuser initdb creates).</summary>
    public const string Role = "vsls";

    private const int SigQuit = 3;
    private const int SigKill = 9;
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private static readonly object s_gate = new();
    private static readonly HashSet<PrivatePostgres> s_live = [];
    private static bool s_hooked;

    private readonly Action<string> _log;
    private readonly string _password;
    private bool _disposed;

    private PrivatePostgres(string runId, string password, Action<string> log)
    {
        RunId = runId;
        Folder = Path.Combine(Root, runId);
        _password = password;
        _log = log;
    }

    /// <summary>The run's id: its folder's name under <see cref="Root"/>.</summary>
    public string RunId { get; }

    /// <summary>The run's folder (data directory, socket directory, server log).</summary>
    public string Folder { get; }

    /// <summary>The data directory (PGDATA).</summary>
    public string DataDirectory => Path.Combine(Folder, "data");

    /// <summary>The server's log (<c>pg_ctl -l</c>), across every start.</summary>
    public string LogPath => Path.Combine(Folder, "server.log");

    /// <summary>The TCP port on 127.0.0.1; the same across restarts.</summary>
    public int Port { get; private set; }

    /// <summary>True between a start and a stop.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>How many times the server was started (1 after <see cref="StartAsync"/>).</summary>
    public int Starts { get; private set; }

    /// <summary>Connection string of the <c>postgres</c> database as <see cref="Role"/> (no pooling options: callers add theirs).</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Database = "postgres",
        Username = Role,
        Password = _password,
    }.ConnectionString;

    private string SocketDirectory => Path.Combine(Folder, "sock");

    private static string OwnerRecord(string runId) => Path.Combine(Root, runId + ".owner");

    /// <summary>
    /// Reaps abandoned servers of earlier runs, then creates a data directory (initdb), starts the server and
    /// waits until it accepts connections as <see cref="Role"/>. Throws <see cref="PrivatePostgresException"/>
    /// at once when the machine cannot run it (not root, binaries missing); a failure half-way removes what was made.
    /// </summary>
    public static async Task<PrivatePostgres> StartAsync(Action<string>? log = null, CancellationToken ct = default)
    {
        PrivatePostgresRequirements.EnsureCanRun();
        log ??= _ => { };
        foreach (var reaped in ReapAbandoned())
            log($"private PostgreSQL: removed the abandoned server of an earlier run ({reaped})");

        var runId = $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant()}";
        var server = new PrivatePostgres(runId, Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant(), log);
        Register(server);
        try
        {
            await server.CreateAsync(ct).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task CreateAsync(CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        // 0755 on the way down, so that the postgres user can reach its folder whoever created the parents.
        foreach (var dir in new[] { Path.GetDirectoryName(Root)!, Root })
        {
            Directory.CreateDirectory(dir);
            SetMode(dir, (UnixFileMode)0b111_101_101);
        }
        // The owner record first, the folder second: a folder without a record is one whose creator died in
        // between, so the reaper of a concurrent run never takes a folder that is being made for one.
        await File.WriteAllTextAsync(OwnerRecord(RunId), $"{Environment.ProcessId} {OrphanGuard.StartTime(Environment.ProcessId) ?? 0}\n", ct).ConfigureAwait(false);
        Directory.CreateDirectory(Folder);
        Directory.CreateDirectory(SocketDirectory);
        var passwordFile = Path.Combine(Folder, "password");
        await File.WriteAllTextAsync(passwordFile, _password + "\n", ct).ConfigureAwait(false);
        SetMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await RunAsync("/bin/chown", ["-R", $"{OsUser}:{OsUser}", Folder], ct).ConfigureAwait(false);

        await RunAsPostgresAsync("initdb", ["-D", DataDirectory, "-U", Role, $"--pwfile={passwordFile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-instructions"], ct).ConfigureAwait(false);
        File.Delete(passwordFile);

        // Appended after initdb's defaults, so these win. Small (a test server beside five other helpers), but
        // fsync, synchronous_commit and full_page_writes stay on (named here so that nobody turns them off to
        // gain speed): a crash stop must lose nothing that was committed.
        Port = FreePort();
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), string.Join('\n',
        [
            "",
            "# vsls multi-node private server (PrivatePostgres)",
            "listen_addresses = '127.0.0.1'",
            $"unix_socket_directories = '{SocketDirectory}'",
            // Local connections are trusted (initdb --auth-local=trust): only the postgres user may use the socket.
            "unix_socket_permissions = 0700",
            "max_connections = 100",
            "shared_buffers = 16MB",
            "huge_pages = off",
            "fsync = on",
            "synchronous_commit = on",
            "full_page_writes = on",
            "log_line_prefix = '%m [%p] '",
            $"port = {Port.ToString(CultureInfo.InvariantCulture)}",
            "",
        ]), ct).ConfigureAwait(false);

        try
        {
            await StartServerAsync(ct).ConfigureAwait(false);
        }
        catch (PrivatePostgresException e) when (e.Message.Contains("could not bind", StringComparison.Ordinal))
        {
            // Someone took the port between choosing it and the server binding it: choose again, once (a
            // later line in postgresql.conf wins over an earlier one).
            Port = FreePort();
            await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), $"port = {Port.ToString(CultureInfo.InvariantCulture)}\n", ct).ConfigureAwait(false);
            await StartServerAsync(ct).ConfigureAwait(false);
        }
        _log($"private PostgreSQL {RunId}: initdb and start in {started.Elapsed.TotalSeconds:0.0} s, 127.0.0.1:{Port}, data {DataDirectory}, postmaster pid {PostmasterPid()}");
    }

    /// <summary>
    /// Stops the server: <see cref="PostgresStopMode.Immediate"/> is a crash stop (<c>pg_ctl stop -m immediate</c>:
    /// every server process quits at once, open connections are cut, no checkpoint), <see cref="PostgresStopMode.Fast"/>
    /// an orderly one. Returns once the postmaster is gone.
    /// </summary>
    public async Task StopAsync(PostgresStopMode mode, CancellationToken ct = default)
    {
        if (!IsRunning)
            throw new InvalidOperationException($"private PostgreSQL {RunId} is not running");
        await RunAsPostgresAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", mode == PostgresStopMode.Immediate ? "immediate" : "fast", "-w", "-t", "30", "-s"], ct).ConfigureAwait(false);
        IsRunning = false;
    }

    /// <summary>Starts the stopped server again on the same port and data directory; after an immediate stop this is a crash recovery.</summary>
    public Task StartAgainAsync(CancellationToken ct = default)
    {
        if (IsRunning)
            throw new InvalidOperationException($"private PostgreSQL {RunId} is already running");
        return StartServerAsync(ct);
    }

    /// <summary>The server log's text (every start and stop of the run).</summary>
    public string ServerLog() => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    private async Task StartServerAsync(CancellationToken ct)
    {
        try
        {
            // -w: pg_ctl returns once the server accepts connections (or fails, with the log saying why).
            await RunAsPostgresAsync("pg_ctl", ["start", "-D", DataDirectory, "-l", LogPath, "-w", "-t", "30", "-s"], ct).ConfigureAwait(false);
        }
        catch (PrivatePostgresException e)
        {
            throw new PrivatePostgresException($"{e.Message}; server log ({LogPath}) ends:\n{LogTail()}");
        }
        IsRunning = true;
        Starts++;
        // What pg_ctl checked is the server; this checks what the members will do: log in over TCP as the role.
        await using var db = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        await db.OpenAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The postmaster's pid (first line of <c>postmaster.pid</c>), or null when the server is not running.</summary>
    public int? PostmasterPid() => PostmasterOf(DataDirectory);

    private static int? PostmasterOf(string dataDirectory)
    {
        var pidFile = Path.Combine(dataDirectory, "postmaster.pid");
        try
        {
            var first = File.ReadLines(pidFile).FirstOrDefault();
            // The pid file of a postmaster killed with SIGKILL stays behind: only a live postgres whose working
            // directory is this data directory is this server (the postmaster chdirs into it), never a reused pid.
            return int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && IsPostmasterOf(pid, dataDirectory) ? pid : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsPostmasterOf(int pid, string dataDirectory)
    {
        try
        {
            var cwd = new DirectoryInfo($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cwd").LinkTarget;
            return cwd is not null && Path.TrimEndingDirectorySeparator(cwd) == Path.TrimEndingDirectorySeparator(dataDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Removes the servers of runs whose owner process is gone (a test host that was killed): each one's
    /// postmaster is stopped (SIGQUIT, an immediate shutdown; SIGKILL if it is still there after 5 s) and its
    /// folder deleted. Servers of live processes are left alone. Returns the run ids removed.
    /// </summary>
    public static IReadOnlyList<string> ReapAbandoned()
    {
        if (!Directory.Exists(Root))
            return [];
        var reaped = new List<string>();
        foreach (var folder in Directory.GetDirectories(Root))
        {
            var runId = Path.GetFileName(folder);
            if (OwnerIsAlive(runId))
                continue;
            StopByDataDirectory(Path.Combine(folder, "data"));
            TryDeleteFolder(folder);
            TryDeleteFile(OwnerRecord(runId));
            reaped.Add(runId);
        }
        // Records whose folder is already gone (the owner died after deleting it).
        foreach (var record in Directory.GetFiles(Root, "*.owner"))
        {
            var runId = Path.GetFileNameWithoutExtension(record);
            if (!Directory.Exists(Path.Combine(Root, runId)) && !OwnerIsAlive(runId))
                TryDeleteFile(record);
        }
        return reaped;
    }

    private static bool OwnerIsAlive(string runId)
    {
        string[] parts;
        try
        {
            parts = File.ReadAllText(OwnerRecord(runId)).Trim().Split(' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        return parts.Length == 2
               && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
               && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
               && OrphanGuard.StartTime(pid) == start;
    }

    /// <summary>Stops the postmaster of <paramref name="dataDirectory"/> by signal, waiting for it to go; false if it would not.</summary>
    private static bool StopByDataDirectory(string dataDirectory)
    {
        if (PostmasterOf(dataDirectory) is not { } pid)
            return true;
        // SIGQUIT to the postmaster is pg_ctl's immediate mode: it takes its children with it.
        kill(pid, SigQuit);
        if (WaitGone(pid, dataDirectory, TimeSpan.FromSeconds(5)))
            return true;
        kill(pid, SigKill);
        return WaitGone(pid, dataDirectory, TimeSpan.FromSeconds(5));
    }

    private static bool WaitGone(int pid, string dataDirectory, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (IsPostmasterOf(pid, dataDirectory))
        {
            if (DateTime.UtcNow > until)
                return false;
            Thread.Sleep(50);
        }
        return true;
    }

    /// <summary>Stops the server (immediately: its data is deleted next) and deletes the run's folder, also after a failed spec.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        string? stopError = null;
        if (IsRunning && PostmasterPid() is not null)
        {
            try
            {
                await StopAsync(PostgresStopMode.Immediate).ConfigureAwait(false);
            }
            catch (PrivatePostgresException e)
            {
                stopError = e.Message;
            }
        }
        IsRunning = false;
        var gone = StopByDataDirectory(DataDirectory);
        TryDeleteFolder(Folder);
        TryDeleteFile(OwnerRecord(RunId));
        Unregister(this);
        if (!gone)
            throw new PrivatePostgresException($"private PostgreSQL {RunId}: the postmaster of {DataDirectory} survived SIGQUIT and SIGKILL{(stopError is null ? "" : "; pg_ctl stop: " + stopError)}");
    }

    private static void Register(PrivatePostgres server)
    {
        lock (s_gate)
        {
            if (!s_hooked)
            {
                // The test host ending (normally, or on SIGTERM) with a server still up: kill it and remove its
                // folder. A SIGKILLed host runs no handler; the next run's reaper takes over then.
                AppDomain.CurrentDomain.ProcessExit += (_, _) =>
                {
                    PrivatePostgres[] live;
                    lock (s_gate)
                        live = [.. s_live];
                    foreach (var s in live)
                    {
                        StopByDataDirectory(s.DataDirectory);
                        TryDeleteFolder(s.Folder);
                        TryDeleteFile(OwnerRecord(s.RunId));
                    }
                };
                s_hooked = true;
            }
            s_live.Add(server);
        }
    }

    private static void Unregister(PrivatePostgres server)
    {
        lock (s_gate)
            s_live.Remove(server);
    }

    /// <summary>
    /// A free loopback port below the ephemeral range. Not an ephemeral one (what <see cref="LocalPorts.Free"/>
    /// gives): while the server is stopped, an outgoing connection — or a member's own reconnect attempt, which
    /// on loopback can connect to itself — could take it as its local port, and the restart could not bind.
    /// </summary>
    private static int FreePort()
    {
        var low = 32768;
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            low = int.Parse(range[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException)
        {
        }
        var from = Math.Max(10000, low - 12000);
        for (var attempt = 0; attempt < 50 && from < low; attempt++)
        {
            var port = RandomNumberGenerator.GetInt32(from, low);
            var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
            }
            finally
            {
                listener.Stop();
            }
        }
        return LocalPorts.Free(1)[0];
    }

    private string LogTail() =>
        string.Join('\n', ServerLog().Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(15));

    private Task<string> RunAsPostgresAsync(string tool, IReadOnlyList<string> arguments, CancellationToken ct) =>
        RunAsync(RunUser, ["-u", OsUser, "--", Path.Combine(BinDirectory, tool), .. arguments], ct);

    private async Task<string> RunAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken ct)
    {
        // The postgres user may not read the test's working directory (initdb would complain); the root
        // folder is readable by it and exists even when this run's folder has been removed.
        var result = await HostCommand.TryRunAsync(fileName, arguments, Root, CommandTimeout, ct).ConfigureAwait(false);
        return result.Succeeded ? result.StandardOutput : throw new PrivatePostgresException($"private PostgreSQL {RunId}: {HostCommand.Describe(result)}");
    }

    /// <remarks><see cref="PrivatePostgresRequirements.EnsureCanRun"/> has already refused anything but Linux; the check is for the platform analyzer.</remarks>
    private static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsLinux())
            File.SetUnixFileMode(path, mode);
    }

    private static void TryDeleteFolder(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A server process still writing into it; the next run's reaper deletes it.
        }
    }

    private static void TryDeleteFile(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
