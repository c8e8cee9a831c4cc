using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Persistence;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.VirtualSystems;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Tests.VirtualSystems;

/// <summary>
/// Runs VS actors directly (no sharding) in actor systems persisted to one real database — a
/// SQLite temp file by default — and lets a test stop a system and start a new one on the same
/// database, as a failover or a restart would.
/// </summary>
internal sealed class VsHarness : IAsyncDisposable
{
    public static readonly MemberName Member = new("member-1");
    private readonly List<ActorSystem> _systems = [];
    private readonly string? _file;

    public VsHarness(DatabaseOptions? database = null, bool flakyJournal = false)
    {
        if (database is null)
        {
            _file = Path.Combine(Path.GetTempPath(), $"vsls-tests-{Guid.NewGuid():N}.db");
            database = new DatabaseOptions(DatabaseProvider.Sqlite, $"Data Source={_file}");
        }
        Database = database;
        var error = VslsPersistence.CheckReachable(database);
        if (error is not null)
            throw new InvalidOperationException(error);
        FlakyJournal = flakyJournal;
    }

    public DatabaseOptions Database { get; }

    public bool FlakyJournal { get; }

    public string? File => _file;

    public ActorSystem Start()
    {
        var journalClass = FlakyJournal
            ? $"journal.sql.class = \"{typeof(FlakyJournal).AssemblyQualifiedName}\""
            : "";
        var overrides = ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.persistence { {{journalClass}} }
            """);
        var system = ActorSystem.Create("vs-test-" + _systems.Count, VslsPersistence.StandaloneSetup(Database, overrides));
        _systems.Add(system);
        return system;
    }

    public static async Task Stop(ActorSystem system) => await system.Terminate();

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _systems)
            await s.Terminate();
        if (_file is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var f in new[] { _file, _file + "-wal", _file + "-shm" })
            {
                try { System.IO.File.Delete(f); } catch (IOException) { }
            }
        }
    }

    // ------------------------------------------------------------ VS configs and packets

    public static readonly VsId Id = new(1);

    /// <summary>
    /// tcp/80 immediate sync, tcp/8080 delayed sync, udp/53 no sync, udp/5000 immediate, tcp/23
    /// rejected, everything else dropped by the implicit cleanup rule.
    /// </summary>
    public static PolicyDefinition Policy { get; } = new(
        ImmutableDictionary<string, ImmutableArray<AddressItem>>.Empty,
        [
            Rule("web", new ServiceItem.Ports(IpProtocol.Tcp, 80, 80), RuleAction.Accept, SyncMode.Immediate),
            Rule("web-delayed", new ServiceItem.Ports(IpProtocol.Tcp, 8080, 8080), RuleAction.Accept, SyncMode.Delayed),
            Rule("dns", new ServiceItem.Ports(IpProtocol.Udp, 53, 53), RuleAction.Accept, SyncMode.None),
            Rule("udp-app", new ServiceItem.Ports(IpProtocol.Udp, 5000, 5000), RuleAction.Accept, SyncMode.Immediate),
            Rule("no-telnet", new ServiceItem.Ports(IpProtocol.Tcp, 23, 23), RuleAction.Reject, SyncMode.Immediate),
        ]);

    private static PolicyRule Rule(string name, ServiceItem service, RuleAction action, SyncMode sync) =>
        new(name, AddressCell.Any, AddressCell.Any, new ServiceCell([service]), action, TrackMode.None, sync);

    public static VirtualSystemConfig Config(int maxConnections = 1000, TimeSpan? syncDelay = null, ConnectionTimeouts? timeouts = null) =>
        new(Id, "vs-one", 10, [Member], Policy, timeouts ?? ConnectionTimeouts.Default, maxConnections,
            syncDelay ?? TimeSpan.FromSeconds(30), [], []);

    public static VirtualSystemSettings Settings(int checkpointEvery = 5000, TimeSpan? passivateAfter = null) => new()
    {
        CheckpointEveryDeltas = checkpointEvery,
        CheckpointInterval = TimeSpan.FromMinutes(10),
        PassivateAfter = passivateAfter ?? TimeSpan.FromMinutes(10),
        SweepInterval = TimeSpan.FromMilliseconds(100),
        JournalRetryMin = TimeSpan.FromMilliseconds(50),
        JournalRetryMax = TimeSpan.FromMilliseconds(200),
    };

    public static IActorRef StartVs(ActorSystem system, VirtualSystemConfig? config = null, VirtualSystemSettings? settings = null) =>
        system.ActorOf(VirtualSystemActor.Props(config ?? Config(), Member, settings ?? Settings()), "vs-1");

    public static NetAddress Client(int n) => NetAddress.FromIPv4(0x0A000000u + (uint)n); // 10.0.x.y
    public static readonly NetAddress Server = NetAddress.Parse("192.168.1.10");

    public static long Now => DateTime.UtcNow.Ticks;

    public static TimedPacket Tcp(int client, ushort port, TcpFlags flags, bool fromServer = false, long? at = null) =>
        new(at ?? Now, fromServer
            ? PacketHeader.Tcp(Server, port, Client(client), (ushort)(40000 + client % 20000), flags, 60)
            : PacketHeader.Tcp(Client(client), (ushort)(40000 + client % 20000), Server, port, flags, 60));

    public static TimedPacket Udp(int client, ushort port, bool fromServer = false, long? at = null) =>
        new(at ?? Now, fromServer
            ? PacketHeader.Udp(Server, port, Client(client), (ushort)(40000 + client % 20000), 80)
            : PacketHeader.Udp(Client(client), (ushort)(40000 + client % 20000), Server, port, 80));

    /// <summary>The three handshake packets of client <paramref name="client"/> to <paramref name="port"/>.</summary>
    public static TimedPacket[] Handshake(int client, ushort port, long? synAt = null) =>
    [
        Tcp(client, port, TcpFlags.Syn, at: synAt),
        Tcp(client, port, TcpFlags.Syn | TcpFlags.Ack, fromServer: true),
        Tcp(client, port, TcpFlags.Ack),
    ];

    public static async Task<VerdictCounts> Send(IActorRef vs, params TimedPacket[] packets)
    {
        var reply = await vs.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(Id, packets), TimeSpan.FromSeconds(20));
        return reply.Counts;
    }

    /// <summary>Sends each packet in its own batch (so a handshake's packets see each other's effects), summing the counts.</summary>
    public static async Task<VerdictCounts> SendEach(IActorRef vs, params TimedPacket[] packets)
    {
        var total = VerdictCounts.Zero;
        foreach (var p in packets)
            total = total.Add(await Send(vs, p));
        return total;
    }

    public static Task<VirtualSystemReplies.Status> Status(IActorRef vs) =>
        vs.Ask<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(Id), TimeSpan.FromSeconds(20));

    /// <summary>Polls the VS's status until <paramref name="condition"/> holds (bounded), returning the status that met it.</summary>
    public static async Task<VirtualSystemReplies.Status> AwaitStatus(IActorRef vs, Func<VirtualSystemReplies.Status, bool> condition, string what, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        VirtualSystemReplies.Status status;
        while (!condition(status = await Status(vs)))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}; last status: {status}");
            await Task.Delay(20);
        }
        return status;
    }
}
