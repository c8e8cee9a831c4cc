using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VslsActors.Cluster.Hosting;
using VslsActors.Domain;
using VslsActors.Domain.Topology;
using VslsActors.Node;
using VslsActors.TestSupport;
using AkkaCluster = Akka.Cluster.Cluster;

namespace VslsActors.Cli.Tests;

/// <summary>
/// Member-to-member TLS on real loopback sockets: members with certificates from the cluster's CA form
/// a cluster over <c>akka.ssl.tcp</c>; a member with a certificate from another CA (same CA name, other
/// key) and a member without TLS never join, and the logs say why.
/// </summary>
public sealed class TlsClusterTests
{
    private const string TestConfig =
        "akka.coordinated-shutdown.run-by-clr-shutdown-hook = off\nakka.log-dead-letters = off\n";

    [Fact]
    public async Task Members_with_certificates_from_the_cluster_ca_form_a_cluster_and_a_member_without_one_cannot_join()
    {
        using var dir = new TempDirectory("tls-cluster");
        using var ca = TestCertificates.CreateCa("CN=VSLS cluster CA");
        using var rogueCa = TestCertificates.CreateCa("CN=VSLS cluster CA");
        var caFile = TestCertificates.WriteCertificatePem(ca, dir.File("ca.crt"));
        var config = dir.File("test.conf");
        await File.WriteAllTextAsync(config, TestConfig);
        var topologyFile = CliRun.SampleTopologyFile();
        var database = dir.File("vsls.db");
        var ports = LocalPorts.Free(5);
        var hosts = new List<IHost>();
        try
        {
            // Members 1 and 2 go the way `vsls node --tls-cert … --tls-ca …` goes: options, preflight, host.
            var logs = new Dictionary<string, LogCapture>();
            for (var i = 0; i < 2; i++)
            {
                var name = $"member-{i + 1}";
                using var cert = TestCertificates.IssueMember(ca, name);
                var pfx = TestCertificates.WritePfx(cert, dir.File(name + ".pfx"), null);
                var options = VslsNodeOptions.Resolve(new Dictionary<string, string?>(), new NodeArguments(
                    Member: name, Host: "127.0.0.1", Port: ports[i], Seeds: $"127.0.0.1:{ports[0]}", Db: database,
                    Topology: topologyFile, Config: config, Ingress: "off", Api: "off", TlsCert: pfx, TlsCa: caFile));
                var cluster = await NodeHost.PrepareAsync(options, CancellationToken.None);
                Assert.Equal($"akka.ssl.tcp://vsls@127.0.0.1:{ports[0]}", Assert.Single(cluster.SeedNodes));
                logs[name] = new LogCapture();
                hosts.Add(await StartAsync(cluster, logs[name]));
            }
            var system1 = hosts[0].Services.GetRequiredService<ActorSystem>();
            await EventuallyAsync(() => UpMembers(system1).Count == 2, TimeSpan.FromSeconds(30), "member-1 and member-2 Up over TLS");
            Assert.All(UpMembers(system1), a => Assert.Equal("akka.ssl.tcp", a.Protocol));

            // An intruder: it knows the cluster's CA certificate but holds a certificate from another CA
            // (same CA name: only the key tells them apart). Built directly: its own preflight would stop it.
            var topology = TopologyLoader.Load(topologyFile);
            using var intruderCert = TestCertificates.IssueMember(rogueCa, "intruder");
            var intruderLog = new LogCapture();
            var intruder = await StartAsync(Rogue(topology, ports[0], ports[2], dir.File("intruder.db"), new VslsTlsOptions(intruderCert, [ca])), intruderLog);
            hosts.Add(intruder);
            // A member without TLS that dials the cluster's TLS port.
            var plainLog = new LogCapture();
            var plain = await StartAsync(Rogue(topology, ports[0], ports[4], dir.File("plain.db"), null), plainLog);
            hosts.Add(plain);

            // member-1 refuses the intruder's certificate and says whose and why (one refusal is the behaviour;
            // how soon the intruder retries depends on Akka's backoff and the machine's load, so the test
            // does not wait for a second one). Under
            // TLS 1.3 the client's handshake is over before the server checks the client certificate, so
            // the intruder only learns that the connection was dropped: it keeps retrying, never joining.
            var member1 = logs["member-1"];
            await EventuallyAsync(() => member1.Count("TLS: refused", "CN=intruder", "is not trusted") >= 1, TimeSpan.FromSeconds(30), "member-1 refuses the intruder's certificate", member1);
            // Waited for: member-1 logs its refusal before the intruder's side has noticed the dropped connection.
            await EventuallyAsync(() => intruderLog.Contains($"Association failed with akka.ssl.tcp://vsls@127.0.0.1:{ports[0]}"), TimeSpan.FromSeconds(30), "the intruder's log shows its failed association", intruderLog);
            Assert.NotEqual(Akka.Cluster.MemberStatus.Up, AkkaCluster.Get(intruder.Services.GetRequiredService<ActorSystem>()).SelfMember.Status);

            // A misconfigured member, run as `vsls node` in its own process: certificate and CA from another
            // PKI (so it passes its own preflight). It refuses member-1's certificate itself, and Akka.Remote
            // stops it (TlsHandshakeFailureReason): exit 3 with one line that says which certificate and why
            // (the same words its log has; the line does not depend on the log reaching the console in time).
            using (var strangerCert = TestCertificates.IssueMember(rogueCa, "stranger"))
            {
                var strangerPfx = TestCertificates.WritePfx(strangerCert, dir.File("stranger.pfx"), null);
                var strangerCa = TestCertificates.WriteCertificatePem(rogueCa, dir.File("stranger-ca.crt"));
                var r = await CliRun.ProcessAsync("node", "--member", "member-3", "--host", "127.0.0.1", "--port", ports[3].ToString(),
                    "--seeds", $"127.0.0.1:{ports[0]}", "--db", dir.File("stranger.db"), "--topology", topologyFile, "--config", config,
                    "--ingress", "off", "--api", "off", "--tls-cert", strangerPfx, "--tls-ca", strangerCa);
                Assert.Equal(NodeExitCodes.RemovedFromCluster, r.ExitCode);
                var line = Assert.Single(r.ErrorLines);
                Assert.True(line.StartsWith("vsls node: member member-3 stopped: a TLS handshake with another member failed", StringComparison.Ordinal), line);
                // Both ends refuse the other's certificate; which refusal ends the handshake first depends on
                // the TLS stack's timing. Either the stranger's own refusal is in its line, or member-1's
                // refusal dropped the connection first and the line points at the logs, where member-1 has it.
                if (!line.Contains("is not trusted", StringComparison.Ordinal))
                {
                    Assert.True(line.Contains("one of the two certificates is not accepted by the other", StringComparison.Ordinal), line);
                    await EventuallyAsync(() => member1.Count("TLS: refused", "CN=stranger", "is not trusted") >= 1, TimeSpan.FromSeconds(10), "member-1 refused the stranger's certificate", member1);
                }
            }

            // The plain member's bytes are no TLS handshake: member-1 drops the connection and says so.
            await EventuallyAsync(() => member1.Contains("Rejected incoming connection", "TLS handshake failure"), TimeSpan.FromSeconds(30), "member-1 rejects the plain connection", member1);
            Assert.NotEqual(Akka.Cluster.MemberStatus.Up, AkkaCluster.Get(plain.Services.GetRequiredService<ActorSystem>()).SelfMember.Status);

            // Nobody but the two members with good certificates is a member, in either member's view.
            foreach (var system in new[] { system1, hosts[1].Services.GetRequiredService<ActorSystem>() })
            {
                var members = AkkaCluster.Get(system).State.Members.Select(m => m.Address.Port ?? 0).Order().ToArray();
                Assert.Equal(new[] { ports[0], ports[1] }.Order(), members);
                Assert.Equal(2, UpMembers(system).Count);
            }
        }
        finally
        {
            foreach (var host in Enumerable.Reverse(hosts))
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await host.StopAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    // A member that does not leave in time goes with the test process.
                }
                host.Dispose();
            }
        }
    }

    /// <summary>A member-3 that tries to join through the member on <paramref name="seedPort"/>, with <paramref name="tls"/> (null = plain TCP).</summary>
    private static VslsClusterOptions Rogue(Topology topology, int seedPort, int port, string database, VslsTlsOptions? tls)
    {
        var options = new VslsClusterOptions
        {
            Member = new MemberName("member-3"),
            Host = "127.0.0.1",
            Port = port,
            Topology = topology,
            Database = new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={database}"),
            ExtraHocon = TestConfig,
            Tls = tls,
        };
        return options with { SeedNodes = [options.AddressOf("127.0.0.1", seedPort)] };
    }

    private static List<Address> UpMembers(ActorSystem system) =>
        AkkaCluster.Get(system).State.Members.Where(m => m.Status == Akka.Cluster.MemberStatus.Up).Select(m => m.Address).ToList();

    private static async Task<IHost> StartAsync(VslsClusterOptions cluster, LogCapture log)
    {
        var host = VslsHostFactory.Build(cluster, l =>
        {
            l.ClearProviders();
            l.AddProvider(log);
            l.SetMinimumLevel(LogLevel.Warning);
        });
        await host.StartAsync();
        return host;
    }

    private static async Task EventuallyAsync(Func<bool> condition, TimeSpan timeout, string what, LogCapture? log = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not reached within {timeout}: {what}{(log is null ? "" : "; its log:\n" + log)}");
            await Task.Delay(100);
        }
    }

    /// <summary>Keeps every log line of one member (Akka's own log events come through Microsoft.Extensions.Logging).</summary>
    private sealed class LogCapture : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public bool Contains(params string[] parts) => Count(parts) > 0;

        public int Count(params string[] parts) => _lines.Count(l => parts.All(p => l.Contains(p, StringComparison.Ordinal)));

        public override string ToString() => string.Join('\n', _lines);

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " | " + exception.Message)}");
        }
    }
}
