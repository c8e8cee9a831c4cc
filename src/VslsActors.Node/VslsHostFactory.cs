using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VslsActors.Cluster.Hosting;

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
    /// logging (single-line console); <paramref name="configureAkka"/> runs after <c>AddVsls</c>.
    /// </summary>
    public static IHost Build(
        VslsClusterOptions cluster,
        Action<ILoggingBuilder>? configureLogging = null,
        Action<AkkaConfigurationBuilder>? configureAkka = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            // No appsettings.json and no DOTNET_ variables from the working directory: a member is
            // configured by its own options only, the same wherever it is started.
            DisableDefaults = true,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
            builder.Logging.SetMinimumLevel(LogLevel.Information);
        }
        else
        {
            configureLogging(builder.Logging);
        }
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.AddAkka(VslsClusterOptions.SystemName, (akka, _) =>
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
        return builder.Build();
    }
}
