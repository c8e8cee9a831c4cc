using Akka.Actor;
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
        IngressOptions? ingress = null,
        ManagementOptions? management = null)
    {
        var api = management is { Enabled: true } ? management : null;
        if (ingress is not null || api is not null)
        {
            var web = VslsWebHost.CreateBuilder(
                ingress,
                ingress is null ? null : sp => IngressHostContext.ForMember(ingress, cluster, sp.GetRequiredService<ActorRegistry>()),
                api,
                api is null ? null : sp => new ManagementContext(api, cluster, sp.GetRequiredService<ActorSystem>(), sp.GetRequiredService<ActorRegistry>()));
            Configure(web.Services, web.Logging, cluster, configureLogging, configureAkka);
            var app = web.Build().MapVslsEndpoints();
            LogDisabledApi(app.Services, management);
            return app;
        }
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            // No appsettings.json and no DOTNET_ variables from the working directory: a member is
            // configured by its own options only, the same wherever it is started.
            DisableDefaults = true,
            ContentRootPath = AppContext.BaseDirectory,
        });
        Configure(builder.Services, builder.Logging, cluster, configureLogging, configureAkka);
        var host = builder.Build();
        LogDisabledApi(host.Services, management);
        return host;
    }

    /// <summary>Says once, at start, that the API is off for want of a token (an operator's first question when curl fails).</summary>
    private static void LogDisabledApi(IServiceProvider services, ManagementOptions? management)
    {
        if (management is { Enabled: false })
        {
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ManagementContext)).LogWarning(
                "management API: disabled (no token configured: set --api-token, VSLS_API_TOKEN, VSLS_API_TOKENS or --api-token-file)");
        }
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
