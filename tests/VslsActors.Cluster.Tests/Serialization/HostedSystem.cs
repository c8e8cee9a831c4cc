using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace VslsActors.Cluster.Tests.Serialization;

/// <summary>
/// An actor system started through Akka.Hosting inside a generic host, the way a member starts
/// it, so the tests exercise the production wiring (<c>AddVslsSerialization</c>) rather than a
/// hand-built configuration. Several can live in one test (a journal writer, then a reader).
/// </summary>
internal sealed class HostedSystem : IAsyncDisposable
{
    private readonly IHost _host;

    private HostedSystem(IHost host)
    {
        _host = host;
        System = host.Services.GetRequiredService<ActorSystem>();
    }

    public ActorSystem System { get; }

    public static async Task<HostedSystem> StartAsync(string name, Action<AkkaConfigurationBuilder> configure)
    {
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(name, (builder, _) => configure(builder)))
            .Build();
        await host.StartAsync();
        return new HostedSystem(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync(TimeSpan.FromSeconds(10));
        _host.Dispose();
    }
}
