using System.Diagnostics;

namespace VslsActors.TestSupport;

/// <summary>
/// The PostgreSQL server the tests run against. <c>VSLS_TEST_POSTGRES</c> (a connection string)
/// names one; without it the machine's own PostgreSQL 15 is started and prepared by
/// <c>.ci/postgres-up</c> (as root, the way CI runs), so that the README's test command passes on
/// a fresh machine too. When neither works the test fails and says how to fix it — PostgreSQL
/// tests are never skipped silently.
/// </summary>
public static class PostgresTestServer
{
    private static readonly Lazy<string> s_connectionString = new(Resolve, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The connection string of a database the tests may create tables in.</summary>
    public static string ConnectionString => s_connectionString.Value;

    private static string Resolve()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("VSLS_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
            return fromEnvironment;

        var script = RepositoryPaths.Of(".ci", "postgres-up");
        var start = new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start bash");
        var output = process.StandardOutput.ReadToEnd();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (process.ExitCode != 0 || lines.Length == 0)
            throw new InvalidOperationException(
                $"PostgreSQL is needed by this test: set VSLS_TEST_POSTGRES to a connection string, or run as root on a machine where '{script}' can start PostgreSQL 15 (it failed with exit {process.ExitCode}: {errors.Trim()})");
        return lines[^1];
    }
}
