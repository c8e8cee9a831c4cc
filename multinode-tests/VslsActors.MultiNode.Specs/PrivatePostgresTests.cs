using Npgsql;
using VslsActors.MultiNode.Harness;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>
/// The private PostgreSQL server of the server-stop spec: it survives a crash stop with what was committed,
/// and no server is left running by a test host that died. Needs root, like the spec; without it each test
/// fails with the server's reason.
/// </summary>
public sealed class PrivatePostgresTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_row_committed_before_an_immediate_stop_is_there_after_the_restart_on_the_same_port()
    {
        await using var server = await PrivatePostgres.StartAsync(output.WriteLine);
        var port = server.Port;
        await ExecuteAsync(server, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)");

        await server.StopAsync(PostgresStopMode.Immediate);
        Assert.Null(server.PostmasterPid());
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ExecuteAsync(server, "SELECT 1"));
        await server.StartAgainAsync();

        Assert.Equal(port, server.Port);
        Assert.Equal(42, await ExecuteAsync(server, "SELECT v FROM t"));
        Assert.Contains("automatic recovery in progress", server.ServerLog());
    }

    [Fact]
    public async Task The_server_of_a_dead_test_process_is_stopped_and_its_folder_deleted_by_the_next_run_and_a_live_owners_is_not()
    {
        await using var live = await PrivatePostgres.StartAsync(output.WriteLine);
        var abandoned = await PrivatePostgres.StartAsync(output.WriteLine);
        var pid = abandoned.PostmasterPid() ?? throw new InvalidOperationException("the server to abandon is not running");
        // As if its test host had been SIGKILLed: its owner record names a process that has exited.
        using var gone = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        await gone.WaitForExitAsync();
        await File.WriteAllTextAsync(Path.Combine(PrivatePostgres.Root, abandoned.RunId + ".owner"), $"{gone.Id} 1\n");

        var reaped = PrivatePostgres.ReapAbandoned();

        Assert.Contains(abandoned.RunId, reaped);
        Assert.DoesNotContain(live.RunId, reaped);
        Assert.False(IsAlive(pid), $"the abandoned postmaster {pid} still runs");
        Assert.False(Directory.Exists(abandoned.Folder));
        Assert.False(File.Exists(Path.Combine(PrivatePostgres.Root, abandoned.RunId + ".owner")));
        Assert.NotNull(live.PostmasterPid());
        Assert.Equal(1, await ExecuteAsync(live, "SELECT 1"));
        await abandoned.DisposeAsync();
    }

    [Fact]
    public void Without_root_the_server_refuses_at_once_saying_what_it_would_run_and_that_ci_runs_as_root()
    {
        var reason = PrivatePostgresRequirements.WhyNot(isLinux: true, effectiveUid: 1000, _ => true, _ => true);

        Assert.NotNull(reason);
        Assert.Contains("needs root", reason);
        Assert.Contains("uid 1000", reason);
        Assert.Contains("pg_ctl stop -m immediate", reason);
        Assert.Contains("shared server must not be stopped", reason);
        Assert.Contains(".ci/run", reason);
        Assert.Contains("/usr/lib/postgresql/15/bin/initdb is missing", PrivatePostgresRequirements.WhyNot(true, 0, f => !f.EndsWith("initdb", StringComparison.Ordinal), _ => true));
        Assert.Contains("`postgres` OS user", PrivatePostgresRequirements.WhyNot(true, 0, _ => true, _ => false));
        Assert.Null(PrivatePostgresRequirements.WhyNot(true, 0, _ => true, _ => true));
    }

    /// <summary>Alive = exists and is not a zombie (a dead postmaster waits for init to reap it, which takes its own time).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<int> ExecuteAsync(PrivatePostgres server, string sql)
    {
        await using var db = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server.ConnectionString) { Pooling = false, Timeout = 5 }.ConnectionString);
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return await cmd.ExecuteScalarAsync() is int v ? v : 0;
    }
}
