using System.Net;
using System.Net.Sockets;
using VslsActors.Cluster.Hosting;
using VslsActors.Cli.Demo;
using VslsActors.Domain.Configuration;
using VslsActors.Node;

namespace VslsActors.Cli.Tests;

/// <summary>A member with bad input exits with one clear line and a non-zero code, before Akka starts.</summary>
public sealed class NodePreflightTests
{
    private static void AssertOneLine(CliRun.Result r, int code, string expected)
    {
        Assert.Equal(code, r.ExitCode);
        var line = Assert.Single(r.ErrorLines);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", r.Error); // no stack trace
    }

    [Fact]
    public async Task An_unreadable_topology_names_the_file_and_exits_2()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"vsls-tests-{Guid.NewGuid():N}", "topology.conf");
        var r = await CliRun.InProcessAsync("node", "--topology", missing, "--port", "0");
        AssertOneLine(r, 2, $"vsls node: topology: {missing}: cannot read the file");
    }

    [Fact]
    public async Task An_invalid_topology_gives_the_loader_line_with_file_and_line_number()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("vsls-tests-").FullName, "bad.conf");
        await File.WriteAllTextAsync(file, "vsls {\n  members = [member-1]\n  distribution = sideways\n}\n");
        var r = await CliRun.InProcessAsync("node", "--topology", file, "--port", "0");
        AssertOneLine(r, 2, $"vsls node: topology: {file}:3");
    }

    [Fact]
    public async Task A_member_not_in_the_topology_is_refused()
    {
        var r = await CliRun.InProcessAsync("node", "--topology", CliRun.SampleTopologyFile(), "--member", "member-7", "--port", "0");
        AssertOneLine(r, 2, "member 'member-7' is not in the members of");
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_2()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var r = await CliRun.InProcessAsync("node", "--topology", CliRun.SampleTopologyFile(), "--port", port.ToString(), "--host", "127.0.0.1");
        AssertOneLine(r, 2, $"vsls node: port {port} on 127.0.0.1 is already in use");
    }

    [Fact]
    public async Task A_host_that_is_not_this_machine_is_one_line()
    {
        // 192.0.2.1 (TEST-NET-1) is never assigned to a local interface; nothing is sent to it.
        var r = await CliRun.InProcessAsync("node", "--topology", CliRun.SampleTopologyFile(), "--port", "0", "--host", "192.0.2.1");
        AssertOneLine(r, 2, "host '192.0.2.1' is not an address of this machine");
    }

    [Fact]
    public async Task A_sqlite_file_in_a_missing_directory_is_one_line()
    {
        var db = Path.Combine(Path.GetTempPath(), $"vsls-tests-{Guid.NewGuid():N}", "no", "vsls.db");
        var r = await CliRun.InProcessAsync("node", "--topology", CliRun.SampleTopologyFile(), "--port", "0", "--db", db);
        AssertOneLine(r, 2, $"vsls node: database: cannot open SQLite file '{db}': directory");
    }

    [Fact]
    public async Task A_sqlite_path_that_is_a_directory_is_one_line()
    {
        var dir = Directory.CreateTempSubdirectory("vsls-tests-").FullName;
        var r = await CliRun.InProcessAsync("node", "--topology", CliRun.SampleTopologyFile(), "--port", "0", "--db", dir);
        AssertOneLine(r, 2, $"vsls node: database: cannot open SQLite file '{dir}'");
    }

    [Fact]
    public async Task A_postgres_server_that_does_not_answer_is_one_line()
    {
        var closed = LocalPorts.Free(1)[0];
        var r = await CliRun.InProcessAsync("node", "--topology", CliRun.SampleTopologyFile(), "--port", "0",
            "--db", $"postgres:Host=127.0.0.1;Port={closed};Database=vsls;Username=vsls;Password=secret;Timeout=3");
        AssertOneLine(r, 2, $"vsls node: database: cannot reach PostgreSQL at 127.0.0.1:{closed} (database 'vsls')");
        Assert.DoesNotContain("secret", r.Error);
    }

    [Fact]
    public async Task The_real_executable_exits_2_with_one_line_for_a_missing_topology()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"vsls-tests-{Guid.NewGuid():N}.conf");
        var r = await CliRun.ProcessAsync("node", "--topology", missing, "--port", "0");
        AssertOneLine(r, 2, $"topology: {missing}: cannot read the file");
    }

    [Fact]
    public void Ingress_is_on_loopback_by_default_and_set_by_environment_and_options_or_turned_off()
    {
        var defaults = VslsNodeOptions.Resolve(new Dictionary<string, string?>(), new NodeArguments());
        Assert.Equal("127.0.0.1:5053", defaults.Ingress!.Endpoint);
        Assert.Equal(8, defaults.Ingress.MaxInFlight);

        var env = new Dictionary<string, string?> { ["VSLS_INGRESS"] = "0.0.0.0:6000", ["VSLS_INGRESS_MAX_IN_FLIGHT"] = "2" };
        var o = VslsNodeOptions.Resolve(env, new NodeArguments(IngressMaxInFlight: 4));
        Assert.Equal("0.0.0.0:6000", o.Ingress!.Endpoint);
        Assert.Equal(4, o.Ingress.MaxInFlight);
        Assert.Equal("[::1]:7000", VslsNodeOptions.Resolve(env, new NodeArguments(Ingress: "[::1]:7000")).Ingress!.Endpoint);

        Assert.Null(VslsNodeOptions.Resolve(env, new NodeArguments(Ingress: "off")).Ingress);
    }

    [Fact]
    public async Task An_ingress_port_in_use_is_one_line_naming_the_option_and_exit_2()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var db = Path.Combine(Directory.CreateTempSubdirectory("vsls-tests-").FullName, "v.db");
        var r = await CliRun.InProcessAsync("node", "--topology", CliRun.SampleTopologyFile(), "--port", "0", "--db", db, "--ingress", $"127.0.0.1:{port}");
        AssertOneLine(r, 2, $"vsls node: port {port} on 127.0.0.1 is already in use (another member or program listens there; choose --ingress)");
    }

    [Fact]
    public void Command_line_options_win_over_environment_variables_which_win_over_defaults()
    {
        var env = new Dictionary<string, string?>
        {
            ["VSLS_MEMBER"] = "member-2",
            ["VSLS_PORT"] = "5000",
            ["VSLS_SEEDS"] = "10.0.0.1:4053,10.0.0.2:4053",
            ["VSLS_DB"] = "postgres:Host=db;Database=vsls;Username=vsls",
            ["VSLS_TOPOLOGY"] = "/etc/vsls/topology.conf",
        };
        var o = VslsNodeOptions.Resolve(env, new NodeArguments(Port: 6000, Host: "127.0.0.2"));
        Assert.Equal("member-2", o.Member.Value);
        Assert.Equal(6000, o.Port);
        Assert.Equal("127.0.0.2", o.Host);
        Assert.Equal(["akka.tcp://vsls@10.0.0.1:4053", "akka.tcp://vsls@10.0.0.2:4053"], o.SeedAddresses());
        Assert.Equal(DatabaseProvider.PostgreSql, o.Database.Provider);
        Assert.Equal("/etc/vsls/topology.conf", o.TopologyPath);

        var defaults = VslsNodeOptions.Resolve(new Dictionary<string, string?>(), new NodeArguments());
        Assert.Equal("member-1", defaults.Member.Value);
        Assert.Equal(VslsNodeOptions.DefaultPort, defaults.Port);
        // Without seeds a member is its own seed.
        Assert.Equal(["akka.tcp://vsls@127.0.0.1:4053"], defaults.SeedAddresses());
        Assert.Equal(DatabaseProvider.Sqlite, defaults.Database.Provider);
        Assert.Contains(Path.GetFullPath("vsls.db"), defaults.Database.ConnectionString);
    }

    [Theory]
    [InlineData("VSLS_PORT", "http", "environment variable VSLS_PORT: 'http' is not a port")]
    [InlineData("VSLS_MEMBER", "member 1", "environment variable VSLS_MEMBER: 'member 1' is not a member name")]
    [InlineData("VSLS_SEEDS", "10.0.0.1", "environment variable VSLS_SEEDS: '10.0.0.1' is not a seed")]
    [InlineData("VSLS_DB", "postgres:Database=x", "environment variable VSLS_DB: the PostgreSQL connection string names no Host")]
    [InlineData("VSLS_DB", "Data Source=x;Bogus=1", "environment variable VSLS_DB: not a valid connection string")]
    [InlineData("VSLS_INGRESS", "nowhere", "environment variable VSLS_INGRESS: 'nowhere' is not an ingress endpoint")]
    [InlineData("VSLS_INGRESS", "example.org:5053", "environment variable VSLS_INGRESS: 'example.org' in 'example.org:5053' is not an IP address")]
    [InlineData("VSLS_INGRESS_MAX_IN_FLIGHT", "0", "environment variable VSLS_INGRESS_MAX_IN_FLIGHT: '0' is not a batch count (1-1024)")]
    public void Bad_environment_values_name_the_variable(string variable, string value, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => VslsNodeOptions.Resolve(new Dictionary<string, string?> { [variable] = value }, new NodeArguments()));
        Assert.StartsWith(expected, e.Message);
    }

    [Fact]
    public void Database_spec_reads_sqlite_paths_and_postgres_connection_strings()
    {
        var sqlite = DatabaseSpec.Parse("sqlite:data/vsls.db", "test");
        Assert.Equal(DatabaseProvider.Sqlite, sqlite.Provider);
        Assert.Contains(Path.GetFullPath("data/vsls.db"), sqlite.ConnectionString);
        var pg = DatabaseSpec.Parse("postgres:Host=db;Port=5433;Database=vsls;Username=u;Password=p", "test");
        Assert.Equal(DatabaseProvider.PostgreSql, pg.Provider);
        Assert.Equal("PostgreSQL at db:5433 (database 'vsls')", DatabaseSpec.Describe(pg));
    }
}
