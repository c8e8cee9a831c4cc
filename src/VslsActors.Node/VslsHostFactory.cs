using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VslsActors.Cluster.Hosting;
using VslsActors.Node.Web;

namespace VslsActors.Node;

/// <summary>
/// Builds the generic host a VSLS process runs in — a member (<c>vsls node</c>) or the demo's traffic
/// driver — with Akka.Hosting and <see cref="VslsHosting.AddVsls"/>. One place, so that both get the
/// same shutdown behaviour:
/// <list type="bullet">
/// <item>SIGTERM / SIGINT → the host's console lifetime stops the host → Akka.Hosting's hosted service
/// runs <c>CoordinatedShutdown</c> with <c>ClrExitReason</c> (Akka.Hosting 1.5.73,
/// <c>AkkaHostedService.StopAsync</c>) → the cluster phases run: sharding regions hand their VSs off
/// (the coordinator moves each to its Standby), the member leaves, the ActorSystem terminates.</item>
/// <item><see cref="HostOptions.ShutdownTimeout"/> is raised to 60 s (the hand-off of many VSs with
/// their checkpoints must not be cut short by the host's 30 s default).</item>
/// <item>If the ActorSystem terminates by itself (downed by the split-brain resolver), Akka.Hosting
/// stops the host; <see cref="NodeHost"/> turns that into a non-zero exit code.</item>
/// </list>
/// </summary>
public static class VslsHostFactory
{
    /// <summary>How long the host waits for a graceful stop (CoordinatedShutdown, hand-off, leave).</summary>
    public static TimeSpan ShutdownTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A host for <paramref name="cluster"/>. <paramref name="configureLogging"/> replaces the default
    /// logging (single-line console); <paramref name="configureAkka"/> runs after <c>AddVsls</c>. With
    /// <paramref name="ingress"/>, the host is a web host (<see cref="VslsWebHost"/>) that also serves the
    /// gRPC ingress on that endpoint; without, a plain generic host (the demo's driver).
    /// </summary>
    public static IHost Build(
        VslsClusterOptions cluster,
        Action<ILoggingBuilder>? configureLogging = null,
        Action<AkkaConfigurationBuilder>? configureAkka = null,
        IngressOptions? ingress = null)
    {
        if (ingress is not null)
        {
            var web = VslsWebHost.CreateBuilder(ingress, sp => IngressHostContext.ForMember(ingress, cluster, sp.GetRequiredService<ActorRegistry>()));
            Configure(web.Services, web.Logging, cluster, configureLogging, configureAkka);
            return web.Build().MapVslsEndpoints();
        }
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            // No appsettings.json and no DOTNET_ variables from the working directory: a member is
            // configured by its own options only, the same wherever it is started.
            DisableDefaults = true,
            ContentRootPath = AppContext.BaseDirectory,
        });
        Configure(builder.Services, builder.Logging, cluster, configureLogging, configureAkka);
        return builder.Build();
    }

    private static void Configure(
        IServiceCollection services,
        ILoggingBuilder logging,
        VslsClusterOptions cluster,
        Action<ILoggingBuilder>? configureLogging,
        Action<AkkaConfigurationBuilder>? configureAkka)
    {
        logging.ClearProviders();
        if (configureLogging is null)
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
            logging.SetMinimumLevel(LogLevel.Information);
            // Kestrel and gRPC log every request at Information: millions of batches would drown the member's log.
            logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            logging.AddFilter("Grpc", LogLevel.Warning);
        }
        else
        {
            configureLogging(logging);
        }
        services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        services.AddAkka(VslsClusterOptions.SystemName, (akka, _) =>
        {
            akka.AddVsls(cluster);
            // Akka's own log events go through Microsoft.Extensions.Logging, so one format and one sink.
            akka.ConfigureLoggers(l =>
            {
                l.ClearLoggers();
                l.AddLoggerFactory();
            });
            configureAkka?.Invoke(akka);
        });
    }
}
