using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using VslsActors.Cli.Demo;
using VslsActors.Node;
using VslsActors.TestSupport;
using YamlDotNet.RepresentationModel;

namespace VslsActors.Cli.Tests;

/// <summary>
/// docker/ cannot be run here (no Docker engine), so it is checked as far as a machine without one can:
/// Debian's <c>docker-compose config</c> validates and merges the files, and every member's command and
/// environment go through the real <c>vsls node</c> option parser (<c>--dry-run</c>, a real process with
/// exactly that environment); the load generator's command through the real <c>vsls</c> parser. A typo in
/// a compose file (an option, a variable name, a value) fails here.
/// </summary>
public sealed class DockerComposeTests
{
    private const string ApiSecret = "compose-test-secret";
    private static readonly string[] Members = ["member-1", "member-2", "member-3"];

    private static string DockerDir => Path.Combine(RepositoryPaths.Root, "docker");

    [Fact]
    public async Task The_compose_cluster_is_valid_and_every_member_command_and_environment_is_accepted_by_vsls_node()
    {
        var services = await ComposeConfigAsync("docker-compose.yml");
        Assert.Equal(["loadgen", "member-1", "member-2", "member-3", "postgres"], services.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("postgres:15", Scalar(services["postgres"], "image"));
        await CheckMembersAsync(services, tls: false);
        CheckLoadgen(services["loadgen"]);
    }

    [Fact]
    public async Task The_tls_override_gives_every_member_its_certificate_and_the_ca()
    {
        var services = await ComposeConfigAsync("docker-compose.yml", "docker-compose.tls.yml");
        await CheckMembersAsync(services, tls: true);
        foreach (var member in Members)
            Assert.Contains($"{DockerDir}/certs:/certs:ro", Sequence(services[member], "volumes"));
    }

    [Fact]
    public async Task The_compose_file_refuses_to_run_without_its_secrets()
    {
        var r = await DockerComposeAsync(new Dictionary<string, string>(), "-f", "docker-compose.yml", "config");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("POSTGRES_PASSWORD", r.Error);
    }

    [Fact]
    public void The_dockerfile_copies_what_exists_and_runs_vsls_as_a_non_root_user()
    {
        var lines = File.ReadAllLines(Path.Combine(DockerDir, "Dockerfile"));
        Assert.Contains("ENTRYPOINT [\"/app/vsls\"]", lines);
        Assert.Contains("USER $APP_UID", lines);
        Assert.Contains("COPY hocon/topology.conf /app/hocon/topology.conf", lines);
        foreach (var copy in lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from", StringComparison.Ordinal)))
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var source in parts[1..^1])
                Assert.True(File.Exists(Path.Combine(RepositoryPaths.Root, source)) || Directory.Exists(Path.Combine(RepositoryPaths.Root, source)), $"Dockerfile: {copy}: '{source}' does not exist");
        }
        // Every VSLS_ variable the image sets is one vsls node reads.
        foreach (var name in lines.SelectMany(l => l.Split([' ', '\\'], StringSplitOptions.RemoveEmptyEntries)).Where(w => w.StartsWith("VSLS_", StringComparison.Ordinal)))
            Assert.Contains(name.Split('=')[0], VslsNodeOptions.EnvironmentVariables);
    }

    [Fact]
    public async Task The_make_certs_script_creates_certificates_that_vsls_node_accepts_with_the_member_host_in_the_san()
    {
        using var dir = new TempDirectory("make-certs");
        var info = new ProcessStartInfo("bash") { ArgumentList = { Path.Combine(DockerDir, "make-certs.sh"), dir.Path, "member-1", "member-2" } };
        info.Environment["VSLS_TLS_PASSWORD"] = "make-certs-test";
        info.Environment.Remove("VSLS_TLS_EXTRA_SAN");
        var r = await RunAsync(info);
        Assert.True(r.ExitCode == 0, $"make-certs.sh failed: {r.Error}");
        var ca = new TlsFile(dir.File("ca.crt"), "option --tls-ca");
        foreach (var member in new[] { "member-1", "member-2" })
        {
            var fromPfx = NodePreflight.LoadTls(new TlsFiles { Certificate = new(dir.File(member + ".pfx"), "option --tls-cert"), Password = "make-certs-test", Ca = ca }, DateTime.UtcNow)!;
            var fromPem = NodePreflight.LoadTls(new TlsFiles { Certificate = new(dir.File(member + ".crt"), "option --tls-cert"), Key = new(dir.File(member + ".key"), "option --tls-key"), Ca = ca }, DateTime.UtcNow)!;
            Assert.Equal(fromPfx.Certificate.Thumbprint, fromPem.Certificate.Thumbprint);
            Assert.True(fromPfx.Certificate.MatchesHostname(member));
            Assert.True(fromPfx.Certificate.MatchesHostname("127.0.0.1"));
            Assert.False(fromPfx.Certificate.MatchesHostname(member == "member-1" ? "member-2" : "member-1"));
        }
        // The CA's key never goes to a member: only what a container reads is readable by others
        // (the script runs under bash, so this test runs on Linux or macOS only).
        Assert.False(OperatingSystem.IsWindows());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir.File("ca.key")));
            Assert.True(File.GetUnixFileMode(dir.File("member-1.pfx")).HasFlag(UnixFileMode.OtherRead));
        }
    }

    private static async Task CheckMembersAsync(Dictionary<string, YamlMappingNode> services, bool tls)
    {
        var scheme = tls ? "akka.ssl.tcp" : "akka.tcp";
        var runs = Members.Select(async member =>
        {
            var service = services[member];
            Assert.Equal("vsls:local", Scalar(service, "image"));
            var environment = Mapping(service, "environment");
            // A misspelt variable would be ignored silently by vsls node: every one must be a known name.
            foreach (var name in environment.Keys)
                Assert.True(VslsNodeOptions.EnvironmentVariables.Contains(name) || name is "VSLS_CTL_ENDPOINT" or "VSLS_CTL_TOKEN", $"{member}: unknown variable {name}");
            var command = Sequence(service, "command");
            var r = await VslsAsync((Dictionary<string, string>)environment, [.. command, "--dry-run"]);
            Assert.True(r.ExitCode == 0, $"{member}: vsls {string.Join(' ', command)} --dry-run exited {r.ExitCode}: {r.Error}");
            Assert.Contains($"member: {member}\n", r.Output);
            Assert.Contains($"remote: {member}:4053\n", r.Output);
            Assert.Contains($"seeds: {string.Join(", ", Members.Select(m => $"{scheme}://vsls@{m}:4053"))}\n", r.Output);
            Assert.Contains("database: PostgreSQL", r.Output);
            Assert.Contains("ingress: 0.0.0.0:5053\n", r.Output);
            Assert.Contains("api: 0.0.0.0:5080 (tokens: ops)\n", r.Output);
            Assert.Contains(tls ? $"tls: on (certificate /certs/{member}.pfx, key in the certificate file, CA /certs/ca.crt, password given)" : "tls: off", r.Output);

            // The health check is a vsls command the real parser accepts, against the member's own API.
            var health = Sequence(Mapping(service, "healthcheck").Node, "test");
            Assert.Equal(["CMD", "/app/vsls"], health[..2]);
            Assert.Empty(VslsCli.BuildRoot(TextWriter.Null, TextWriter.Null).Parse(health[2..]).Errors);
            Assert.Equal("127.0.0.1:5080", environment["VSLS_CTL_ENDPOINT"]);
            Assert.Equal(ApiSecret, environment["VSLS_CTL_TOKEN"]);
        });
        await Task.WhenAll(runs);
    }

    private static void CheckLoadgen(YamlMappingNode loadgen)
    {
        Assert.Equal("vsls:local", Scalar(loadgen, "image"));
        var command = Sequence(loadgen, "command");
        Assert.Equal("loadgen", command[0]);
        var parse = VslsCli.BuildRoot(TextWriter.Null, TextWriter.Null).Parse(command);
        Assert.Empty(parse.Errors);
        var targets = command[command.IndexOf("--target") + 1].Split(',');
        Assert.Equal(Members.Select(m => m + ":5053"), targets);
    }

    /// <summary>Runs <c>docker-compose -f … config</c> with the secrets set and returns the merged services.</summary>
    private static async Task<Dictionary<string, YamlMappingNode>> ComposeConfigAsync(params string[] files)
    {
        var env = new Dictionary<string, string> { ["VSLS_API_SECRET"] = ApiSecret, ["POSTGRES_PASSWORD"] = "compose-test-db", ["VSLS_TLS_PASSWORD"] = "compose-test-tls" };
        var r = await DockerComposeAsync(env, [.. files.SelectMany(f => new[] { "-f", f }), "config"]);
        Assert.True(r.ExitCode == 0, $"docker-compose {string.Join(' ', files)} config failed: {r.Error}");
        var yaml = new YamlStream();
        yaml.Load(new StringReader(r.Output));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        return ((YamlMappingNode)root.Children[new YamlScalarNode("services")]).Children
            .ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => (YamlMappingNode)kv.Value);
    }

    private static async Task<CliRun.Result> DockerComposeAsync(Dictionary<string, string> environment, params string[] args)
    {
        var executable = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, "docker-compose")).FirstOrDefault(File.Exists);
        Assert.True(executable is not null, "docker-compose is not installed: `apt-get install docker-compose` (Debian's package; .ci/run installs it)");
        var info = new ProcessStartInfo(executable) { WorkingDirectory = DockerDir };
        foreach (var a in args)
            info.ArgumentList.Add(a);
        foreach (var name in new[] { "VSLS_API_SECRET", "POSTGRES_PASSWORD", "VSLS_TLS_PASSWORD" })
            info.Environment.Remove(name);
        foreach (var (k, v) in environment)
            info.Environment[k] = v;
        return await RunAsync(info);
    }

    /// <summary>Runs the built <c>vsls</c> with <paramref name="environment"/> as its only VSLS_* variables.</summary>
    private static async Task<CliRun.Result> VslsAsync(IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> args)
    {
        var self = SelfCommand.Resolve();
        var info = new ProcessStartInfo(self.FileName);
        foreach (var a in self.PrefixArguments)
            info.ArgumentList.Add(a);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("VSLS_", StringComparison.Ordinal)).ToArray())
            info.Environment.Remove(name);
        foreach (var (k, v) in environment)
            info.Environment[k] = v;
        return await RunAsync(info);
    }

    private static async Task<CliRun.Result> RunAsync(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        using var p = Process.Start(info)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        return new CliRun.Result(p.ExitCode, await stdout, await stderr);
    }

    private static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node.Children[new YamlScalarNode(key)]).Value!;

    private static List<string> Sequence(YamlMappingNode node, string key) =>
        ((YamlSequenceNode)node.Children[new YamlScalarNode(key)]).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();

    private static MappingView Mapping(YamlMappingNode node, string key) => new((YamlMappingNode)node.Children[new YamlScalarNode(key)]);

    /// <summary>A YAML mapping of scalars as a dictionary.</summary>
    private sealed class MappingView(YamlMappingNode node)
    {
        public YamlMappingNode Node { get; } = node;

        public IEnumerable<string> Keys => Node.Children.Keys.Select(k => ((YamlScalarNode)k).Value!);

        public string this[string key] => ((YamlScalarNode)Node.Children[new YamlScalarNode(key)]).Value!;

        public static implicit operator Dictionary<string, string>(MappingView view) =>
            view.Node.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!);
    }
}
