using System.Runtime.InteropServices;

namespace VslsActors.MultiNode.Harness;

/// <summary>
/// What a <see cref="PrivatePostgres"/> server needs from the machine (Linux, root, PostgreSQL 15's server
/// binaries, the <c>postgres</c> OS user and <c>runuser</c>), checked up front so that a spec that cannot
/// run fails at once with the reason instead of half-creating a server.
/// </summary>
public static class PrivatePostgresRequirements
{
    /// <summary>
    /// Throws <see cref="PrivatePostgresException"/> saying plainly why the server cannot run here; returns
    /// when it can. Not a skip: CI (<c>.ci/run</c>) runs as root and installs PostgreSQL (through
    /// <c>.ci/postgres-up</c>), so a spec that meets this is a failure to be seen, not a silent pass.
    /// </summary>
    public static void EnsureCanRun()
    {
        if (WhyNot(OperatingSystem.IsLinux(), OperatingSystem.IsLinux() ? geteuid() : uint.MaxValue, File.Exists, UserExists) is { } reason)
            throw new PrivatePostgresException(reason);
    }

    /// <summary>The reason the server cannot run on a machine like this one, or null when it can.</summary>
    public static string? WhyNot(bool isLinux, uint effectiveUid, Func<string, bool> fileExists, Func<string, bool> userExists)
    {
        const string what = "it runs a private PostgreSQL 15 server (initdb, pg_ctl start, pg_ctl stop -m immediate) as the " +
                            "`postgres` OS user through runuser, on a data directory under " + PrivatePostgres.Root +
                            ", because the machine's shared server must not be stopped under other test projects";
        if (!isLinux)
            return $"the PostgreSQL server-stop spec needs Linux: {what}; this is {RuntimeInformation.OSDescription}";
        if (effectiveUid != 0)
            return $"the PostgreSQL server-stop spec needs root (initdb and the server run as the `postgres` user, which only root can switch to): {what}; " +
                   $"this process runs as uid {effectiveUid}. Run it as root, as .ci/run does (CI runs as root and installs PostgreSQL)";
        foreach (var tool in new[] { "initdb", "pg_ctl", "postgres" })
        {
            var path = Path.Combine(PrivatePostgres.BinDirectory, tool);
            if (!fileExists(path))
                return $"the PostgreSQL server-stop spec needs PostgreSQL 15's server binaries and {path} is missing " +
                       "(Debian package postgresql-15; .ci/postgres-up installs it)";
        }
        if (!fileExists(PrivatePostgres.RunUser))
            return $"the PostgreSQL server-stop spec needs {PrivatePostgres.RunUser} (Debian package util-linux) to run the server as the `postgres` user, and it is missing";
        if (!userExists(PrivatePostgres.OsUser))
            return $"the PostgreSQL server-stop spec needs the `{PrivatePostgres.OsUser}` OS user (created by Debian's postgresql-common package) and there is none";
        return null;
    }

    private static bool UserExists(string name) =>
        File.Exists("/etc/passwd") && File.ReadLines("/etc/passwd").Any(line => line.StartsWith(name + ":", StringComparison.Ordinal));

    [DllImport("libc")]
    private static extern uint geteuid();
}
