using System.Net.Http.Headers;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VslsActors.Cli.Demo;
using VslsActors.Cluster.Hosting;
using VslsActors.Domain;
using VslsActors.Domain.Topology;
using VslsActors.Node;
using VslsActors.Node.Web;

namespace VslsActors.Cli.Tests.Ctl;

/// <summary>
/// Three real members in this process (the production host of <c>vsls node</c>: Akka cluster, real VS
/// actors, the management API on loopback HTTP/1.1 ports), sharing one SQLite file; shared by the ctl
/// and API tests of one class so the cluster forms once.
/// </summary>
public class ManagedCluster : IAsyncLifetime
{
    /// <summary>The tokens every member accepts: name → secret.</summary>
    public const string Tokens = "alice:s3cret,ops:xyz";

    public const string Secret = "s3cret";

    private readonly List<IHost> _hosts = [];
    private readonly Dictionary<string, IHost> _byName = [];
    private readonly List<IHost> _killed = [];
    private readonly string _database = Path.Combine(Path.GetTempPath(), $"vsls-ctl-tests-{Guid.NewGuid():N}.db");
    private readonly string _extraHocon;
    private string _seed = "";

    /// <summary>Three members with the production settings.</summary>
    public ManagedCluster()
        : this("")
    {
    }

    /// <summary>Three members with <paramref name="extraHocon"/> over the production settings.</summary>
    protected ManagedCluster(string extraHocon)
    {
        _extraHocon = extraHocon;
    }

    public static Topology Topology { get; } = TopologyLoader.Parse(SampleTopology.Text(), "sample topology");

    /// <summary>API endpoint (host:port) of each member, by name.</summary>
    public Dictionary<string, string> Api { get; } = [];

    public async Task InitializeAsync()
    {
        // All ports chosen together (held open while choosing), so no two members get the same one.
        var ports = LocalPorts.Free(6);
        _seed = $"akka.tcp://{VslsClusterOptions.SystemName}@127.0.0.1:{ports[0]}";
        string[] names = ["member-1", "member-2", "member-3"];
        for (var i = 0; i < names.Length; i++)
            await StartMemberAsync(names[i], (ports[i], ports[3 + i]));
        // Ready when every member's API sees three Up members and every VS has a region to run in.
        await EventuallyAsync(async () =>
        {
            foreach (var endpoint in Api.Values)
            {
                var cluster = await GetJsonAsync(endpoint, "cluster");
                if (cluster.GetProperty("members").EnumerateArray().Count(m => m.GetProperty("status").GetString() == "Up") != 3)
                    return false;
            }
            var shards = await GetJsonAsync(Api["member-1"], "sharding/shard-stats");
            return shards.GetProperty("shards").GetArrayLength() == Topology.VirtualSystems.Length;
        }, TimeSpan.FromSeconds(45), "three members Up and every VS started");
    }

    /// <summary>
    /// Starts member <paramref name="name"/> on <paramref name="ports"/> (default: two free ones), or again, after it left or was downed: a new incarnation on new
    /// ports, as a restarted process would be) and joins it to the seed.
    /// </summary>
    public async Task StartMemberAsync(string name, (int Akka, int Api)? ports = null)
    {
        var (akkaPort, apiPort) = ports ?? (LocalPorts.Free(2) is [var a, var b] ? (a, b) : throw new InvalidOperationException("no free ports"));
        var cluster = new VslsClusterOptions
        {
            Member = new MemberName(name),
            Host = "127.0.0.1",
            Port = akkaPort,
            SeedNodes = [_seed],
            Topology = Topology,
            Database = new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={_database}"),
            HostsVirtualSystems = true,
            ExtraHocon = "akka.loglevel = WARNING\nakka.log-dead-letters = off\nakka.coordinated-shutdown.run-by-clr-shutdown-hook = off\n" + _extraHocon,
        };
        var api = new ManagementOptions { Port = apiPort }.WithTokens(Tokens);
        var host = VslsHostFactory.Build(cluster, l => l.ClearProviders(), ingress: null, management: api);
        _hosts.Add(host);
        _byName[name] = host;
        await host.StartAsync();
        Api[name] = api.Endpoint;
    }

    /// <summary>
    /// Makes member <paramref name="name"/> unreachable the way a crashed process or a cut cable does:
    /// its remoting transport is shut down under it (sockets closed, no leave, no goodbye gossip), so the
    /// others stop hearing its heartbeats and their failure detectors mark it unreachable. Nothing downs
    /// it unless the cluster's settings do.
    /// </summary>
    public async Task KillMemberAsync(string name)
    {
        var host = _byName[name];
        _byName.Remove(name);
        _hosts.Remove(host);
        _killed.Add(host);
        Api.Remove(name);
        var system = (ExtendedActorSystem)host.Services.GetRequiredService<ActorSystem>();
        await ((Akka.Remote.RemoteActorRefProvider)system.Provider).Transport.Shutdown();
    }

    /// <summary>Stops a member the way its process ends on SIGTERM (graceful leave: its VSs hand off).</summary>
    public async Task StopMemberAsync(string name)
    {
        var host = _byName[name];
        _byName.Remove(name);
        _hosts.Remove(host);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(stop.Token);
        host.Dispose();
    }

    /// <summary>The <c>virtual-system</c> shard region of member <paramref name="name"/> (to send packets through).</summary>
    public async Task<IActorRef> RegionAsync(string name) =>
        await _byName[name].Services.GetRequiredService<ActorRegistry>().GetAsync<VslsActors.Cluster.Hosting.VirtualSystemRegion>();

    public static async Task<JsonElement> GetJsonAsync(string endpoint, string path)
    {
        using var http = Client(endpoint, Secret);
        var body = await http.GetStringAsync(path);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    public static HttpClient Client(string endpoint, string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://{endpoint}/api/v1/"), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                    return;
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or TaskCanceledException)
            {
                last = e;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"not reached within {timeout}: {what}{(last is null ? "" : " (last error: " + last.Message + ")")}");
    }

    public async Task DisposeAsync()
    {
        // A member cut off by KillMemberAsync cannot leave: its shutdown waits out the leave phases'
        // timeouts, so it runs alongside the others' graceful stops rather than after them.
        var killed = _killed.Select(async host =>
        {
            await host.Services.GetRequiredService<ActorSystem>().Terminate().WaitAsync(TimeSpan.FromSeconds(20));
            host.Dispose();
        }).ToList();
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await host.StopAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
                // A member that does not leave in time is dropped with the process.
            }
            host.Dispose();
        }
        await Task.WhenAll(killed);
        foreach (var file in new[] { _database, _database + "-wal", _database + "-shm" })
            File.Delete(file);
    }
}
