using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VslsActors.Cli.Demo;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Topology;
using VslsActors.Node.Web;
using VslsActors.Node;

namespace VslsActors.Cli.Tests;

/// <summary>
/// The member's real web host and gRPC ingress service on a loopback port, with a test gateway in
/// place of the cluster (so a test can make the "VSs" slow, blocked, or count what reached them).
/// </summary>
internal sealed class IngressTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private IngressTestServer(WebApplication app, int port)
    {
        _app = app;
        Target = $"127.0.0.1:{port}";
    }

    public string Target { get; }

    public IngressHostContext Context => _app.Services.GetRequiredService<IngressHostContext>();

    public static Topology SampleTopology { get; } = TopologyLoader.Parse(Cli.SampleTopology.Text(), "sample topology");

    public static async Task<IngressTestServer> StartAsync(IVirtualSystemGateway gateway, int maxInFlight = IngressOptions.DefaultMaxInFlight)
    {
        var port = LocalPorts.Free(1)[0];
        var options = new IngressOptions { Port = port, MaxInFlight = maxInFlight };
        var builder = VslsWebHost.CreateBuilder(options, _ => new IngressHostContext(options, SampleTopology, "test-member", _ => Task.FromResult(gateway)));
        builder.Logging.ClearProviders();
        var app = builder.Build().MapVslsEndpoints();
        await app.StartAsync();
        return new IngressTestServer(app, port);
    }

    /// <summary>Stops abruptly: open streams are cut, as when a member dies.</summary>
    public async Task KillAsync()
    {
        using var now = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        try
        {
            await _app.StopAsync(now.Token);
        }
        catch (OperationCanceledException)
        {
            // Expected: the graceful part is cut short on purpose.
        }
        await _app.DisposeAsync();
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>
/// A gateway whose every VS accepts every packet, after <see cref="Delay"/>, or once <see cref="Gate"/>
/// lets it through; it counts the packets per VS and the calls it is inside right now.
/// </summary>
internal sealed class AcceptingGateway : IVirtualSystemGateway
{
    private readonly Dictionary<VsId, long> _perVs = [];
    private int _inside;
    private int _calls;

    public TimeSpan Delay { get; init; }

    public SemaphoreSlim? Gate { get; init; }

    public int Inside => Volatile.Read(ref _inside);

    public int Calls => Volatile.Read(ref _calls);

    public long PacketsOf(VsId vs)
    {
        lock (_perVs)
            return _perVs.GetValueOrDefault(vs);
    }

    public long Packets
    {
        get
        {
            lock (_perVs)
                return _perVs.Values.Sum();
        }
    }

    public async Task<VerdictCounts?> ProcessAsync(VsId vs, TimedPacket[] packets, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        Interlocked.Increment(ref _inside);
        try
        {
            if (Gate is { } gate)
            {
                await gate.WaitAsync(cancellationToken);
                gate.Release();
            }
            if (Delay > TimeSpan.Zero)
                await Task.Delay(Delay, cancellationToken);
            lock (_perVs)
                _perVs[vs] = _perVs.GetValueOrDefault(vs) + packets.Length;
            return new VerdictCounts(packets.Length, 0, 0, 0, 0);
        }
        finally
        {
            Interlocked.Decrement(ref _inside);
        }
    }

    public Task<VirtualSystemReplies.Connections> ListConnectionsAsync(VsId vs, int limit, CancellationToken cancellationToken) =>
        Task.FromResult(new VirtualSystemReplies.Connections(vs, [], 0));
}
