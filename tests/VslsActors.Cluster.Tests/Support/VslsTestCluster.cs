using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Tests.Support;

/// <summary>One running member of a <see cref="VslsTestCluster"/>.</summary>
public sealed record TestMember(string Name, int Port, IHost Host, ActorSystem System, IActorRef Region, IActorRef Registry)
{
    /// <summary>This member's cluster address.</summary>
    public Address Address => Akka.Cluster.Cluster.Get(System).SelfAddress;
}

/// <summary>
/// An in-process VSLS cluster for tests: members are separate ActorSystems on loopback ports, each
/// built with the production wiring (<see cref="VslsHosting.AddVsls"/> inside a generic host), all
/// sharing one SQLite file. Start members by name, wait for them to be Up, kill one abruptly, let one
/// leave gracefully, restart one; <see cref="DisposeAsync"/> stops everything even after a failure.
/// <para>"Killed" = the ActorSystem terminates without coordinated shutdown (no cluster leave, no
/// sharding hand-off): the others learn of it only from their failure detectors, as after kill -9
/// (whose kernel also closes the TCP connections). A frozen process (SIGSTOP) or a partition, where
/// connections stay open, is the multinode harness's business.</para>
/// </summary>
public sealed class VslsTestCluster : IAsyncDisposable
{
    /// <summary>HOCON every test member adds: no coordinated shutdown on Terminate (so a kill is abrupt), quiet logs.</summary>
    public const string TestHocon = """
        akka.loglevel = WARNING
        akka.log-dead-letters = off
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        """;

    private readonly ConcurrentDictionary<string, TestMember> _members = new();
    private readonly List<IHost> _stoppedHosts = [];
    private readonly Dictionary<string, int> _ports = new();
    private readonly string? _extraHocon;
    private readonly bool _ownsDatabase;

    /// <summary>A cluster running <paramref name="topology"/> on SQLite file <paramref name="databasePath"/> (null: a new temp file, deleted on dispose).</summary>
    /// <remarks>With <c>realVirtualSystems</c> members run the production <c>VirtualSystemActor</c> instead of the test entity.</remarks>
    public VslsTestCluster(Topology topology, string? databasePath = null, string? extraHocon = null, bool realVirtualSystems = false)
    {
        RealVirtualSystems = realVirtualSystems;
        Topology = topology;
        _ownsDatabase = databasePath is null;
        DatabasePath = databasePath ?? NewDatabasePath();
        _extraHocon = extraHocon;
    }

    /// <summary>A fresh SQLite file path under the temp directory.</summary>
    public static string NewDatabasePath() => Path.Combine(Path.GetTempPath(), $"vsls-tests-{Guid.NewGuid():N}.db");

    /// <summary>Whether members run the production VS actor (else the test entity that records its starts).</summary>
    public bool RealVirtualSystems { get; }

    /// <summary>The topology every member loads.</summary>
    public Topology Topology { get; }

    /// <summary>The SQLite file of journals and snapshots.</summary>
    public string DatabasePath { get; }

    /// <summary>Every start of a test VS entity, on any member, in order.</summary>
    public ConcurrentQueue<EntityStart> Starts { get; } = new();

    /// <summary>The running member named <paramref name="name"/>.</summary>
    public TestMember this[string name] => _members[name];

    /// <summary>Names of the running members.</summary>
    public IReadOnlyCollection<string> Running => _members.Keys.ToArray();

    /// <summary>
    /// Starts members: the first one alone (it seeds itself when nothing runs), then the others
    /// together; returns when every running member sees every other one Up.
    /// </summary>
    public async Task StartAsync(params string[] names)
    {
        if (names.Length == 0)
            return;
        var rest = names;
        if (_members.IsEmpty)
        {
            await StartMemberAsync(names[0]);
            rest = names[1..];
        }
        await Task.WhenAll(rest.Select(n => StartMemberAsync(n)));
        await WaitForConvergenceAsync();
    }

    /// <summary>Starts one member (a driver when <paramref name="hostsVirtualSystems"/> is false) and joins it to the running ones.</summary>
    public async Task<TestMember> StartMemberAsync(string name, bool hostsVirtualSystems = true)
    {
        int port;
        lock (_ports)
        {
            if (!_ports.TryGetValue(name, out port))
                _ports[name] = port = FreePort();
        }
        var self = $"akka.tcp://{VslsClusterOptions.SystemName}@127.0.0.1:{port}";
        var seeds = _members.IsEmpty ? [self] : _members.Values.Select(m => m.Address.ToString()).ToArray();
        var options = new VslsClusterOptions
        {
            Member = new MemberName(name),
            Host = "127.0.0.1",
            Port = port,
            SeedNodes = seeds,
            Topology = Topology,
            Database = new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={DatabasePath}"),
            HostsVirtualSystems = hostsVirtualSystems,
            ExtraHocon = TestHocon + "\n" + _extraHocon,
        };
        var starts = Starts;
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(VslsClusterOptions.SystemName, (builder, _) =>
                builder.AddVsls(options, RealVirtualSystems ? null : vs => TestVirtualSystem.Props(vs, name, starts))))
            .Build();
        await host.StartAsync();
        var system = host.Services.GetRequiredService<ActorSystem>();
        var registry = host.Services.GetRequiredService<ActorRegistry>();
        var region = await registry.GetAsync<VirtualSystemRegion>();
        var proxy = await registry.GetAsync<VslsRegistryProxy>();
        var member = new TestMember(name, port, host, system, region, proxy);
        if (!_members.TryAdd(name, member))
            throw new InvalidOperationException($"member {name} already runs");
        return member;
    }

    /// <summary>Waits until every running member sees every running member Up and none unreachable.</summary>
    public async Task WaitForConvergenceAsync(TimeSpan? timeout = null)
    {
        var expected = _members.Values.Select(m => m.Address).ToHashSet();
        await Eventually(() => _members.Values.All(m =>
        {
            var state = Akka.Cluster.Cluster.Get(m.System).State;
            return state.Unreachable.Count == 0
                   && state.Members.Count(x => x.Status == MemberStatus.Up && expected.Contains(x.Address)) == expected.Count
                   && state.Members.All(x => expected.Contains(x.Address));
        }), timeout ?? TimeSpan.FromSeconds(20), "cluster convergence of " + string.Join(", ", _members.Keys));
    }

    /// <summary>Kills a member abruptly: no leave, no hand-off (see the class remarks).</summary>
    public async Task KillAsync(string name)
    {
        if (!_members.TryRemove(name, out var member))
            throw new InvalidOperationException($"member {name} is not running");
        await member.System.Terminate().WaitAsync(TimeSpan.FromSeconds(15));
        lock (_stoppedHosts)
            _stoppedHosts.Add(member.Host);
    }

    /// <summary>Stops a member gracefully: coordinated shutdown leaves the cluster and hands its VSs off.</summary>
    public async Task LeaveAsync(string name)
    {
        if (!_members.TryRemove(name, out var member))
            throw new InvalidOperationException($"member {name} is not running");
        await CoordinatedShutdown.Get(member.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance).WaitAsync(TimeSpan.FromSeconds(20));
        await member.System.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(15));
        lock (_stoppedHosts)
            _stoppedHosts.Add(member.Host);
    }

    /// <summary>Asks the VS through <paramref name="via"/>'s region which member runs it.</summary>
    public async Task<string> ActiveMemberAsync(VsId vs, string via, TimeSpan? timeout = null)
    {
        var status = await _members[via].Region.Ask<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(vs), timeout ?? TimeSpan.FromSeconds(3));
        return status.Member;
    }

    /// <summary>Waits until <paramref name="vs"/> answers from <paramref name="expected"/> (asked through any running member).</summary>
    public Task AwaitActiveAsync(VsId vs, string expected, TimeSpan? timeout = null)
    {
        var via = _members.Keys.Order(StringComparer.Ordinal).First();
        string? last = null;
        return Eventually(async () =>
        {
            try
            {
                last = await ActiveMemberAsync(vs, via, TimeSpan.FromSeconds(1));
                return last == expected;
            }
            catch (AskTimeoutException)
            {
                last = "(no answer)";
                return false;
            }
        }, timeout ?? TimeSpan.FromSeconds(20), () => $"VS {vs} Active on {expected} (last answer: {last})");
    }

    /// <summary>Asks the registry (through <paramref name="via"/>'s proxy, or any member's).</summary>
    public Task<T> AskRegistryAsync<T>(object message, string? via = null) =>
        _members[via ?? _members.Keys.Order(StringComparer.Ordinal).First()].Registry.Ask<T>(message, TimeSpan.FromSeconds(10));

    /// <summary>Polls <paramref name="condition"/> every 50 ms until it holds; fails naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static Task Eventually(Func<bool> condition, TimeSpan timeout, string what) =>
        Eventually(() => Task.FromResult(condition()), timeout, () => what);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task Eventually(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
                return;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"not reached within {timeout.TotalSeconds:0.#} s: {what()}");
            await Task.Delay(50);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        var running = _members.Values.ToArray();
        _members.Clear();
        // Teardown need not be graceful: terminate everything at once.
        await Task.WhenAll(running.Select(async m =>
        {
            try
            {
                await m.System.Terminate().WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
                // Disposing the host below tries again; a test must not hang on teardown.
            }
        }));
        foreach (var host in running.Select(m => m.Host).Concat(_stoppedHosts))
            host.Dispose();
        if (_ownsDatabase)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                try { File.Delete(DatabasePath + suffix); }
                catch (IOException) { /* best effort: a temp file */ }
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
