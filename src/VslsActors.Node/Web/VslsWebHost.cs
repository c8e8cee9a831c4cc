using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Node.Web;

/// <summary>
/// The member's web host: one Kestrel with up to two endpoints — the ingress gRPC service on HTTP/2
/// without TLS (prior knowledge, as gRPC clients dial <c>http://</c>), and the management API on
/// HTTP/1.1 (curl, browsers) on its own port. The one place where web endpoints are wired.
/// </summary>
public static class VslsWebHost
{
    /// <summary>A web application builder listening on <paramref name="options"/>' endpoint with the ingress service, and on <paramref name="management"/>'s with the API.</summary>
    /// <param name="options">Ingress endpoint and limits; null = no ingress.</param>
    /// <param name="context">Creates the ingress context once the host's services exist (with <paramref name="options"/>).</param>
    /// <param name="management">The management API; null or without tokens = not served.</param>
    /// <param name="managementContext">Creates the API's context (with an enabled <paramref name="management"/>).</param>
    public static WebApplicationBuilder CreateBuilder(
        IngressOptions? options,
        Func<IServiceProvider, IngressHostContext>? context,
        ManagementOptions? management = null,
        Func<IServiceProvider, ManagementContext>? managementContext = null)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            if (options is not null)
                k.Listen(options.Address, options.Port, l => l.Protocols = HttpProtocols.Http2);
            if (management is { Enabled: true })
                k.Listen(management.Address, management.Port, l => l.Protocols = HttpProtocols.Http1);
            // Many small frames at millions of records/s: let one stream keep a few batches in the window.
            k.Limits.Http2.InitialStreamWindowSize = 4 * 1024 * 1024;
            k.Limits.Http2.InitialConnectionWindowSize = 16 * 1024 * 1024;
        });
        builder.Services.AddRouting();
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = IngressOptions.MaxBatchRecords * PacketRecordCodec.RecordSize + 1024;
            o.EnableDetailedErrors = true;
        });
        if (options is not null && context is not null)
            builder.Services.AddSingleton(context);
        if (management is { Enabled: true } && managementContext is not null)
        {
            builder.Services.AddSingleton(managementContext);
            var meterName = ManagementMetrics.AllocateMeterName();
            builder.Services.AddSingleton(sp => new ManagementMetrics(sp.GetRequiredService<ManagementContext>(), meterName));
            // Every scrape reads the cluster afresh (ManagementMetrics.RefreshAsync): no response cache.
            builder.Services.AddOpenTelemetry().WithMetrics(m => m
                .AddMeter(meterName)
                .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        }
        return builder;
    }

    /// <summary>Maps the endpoints onto <paramref name="app"/>.</summary>
    public static WebApplication MapVslsEndpoints(this WebApplication app)
    {
        app.UseRouting();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(VslsWebHost));
        if (app.Services.GetService<IngressHostContext>() is { } context)
        {
            app.MapGrpcService<IngressService>();
            // Operators and scripts look for this line to know where to point loadgen (Kestrel's own is filtered out).
            app.Lifetime.ApplicationStarted.Register(() => logger.LogInformation(
                "ingress: gRPC on http://{Endpoint} (HTTP/2, no TLS), at most {MaxInFlight} batches in flight per stream",
                context.Options.Endpoint, context.Options.MaxInFlight));
        }
        if (app.Services.GetService<ManagementContext>() is { } management)
        {
            app.MapManagementApi(management);
            app.MapManagementMetrics(management, app.Services.GetRequiredService<ManagementMetrics>());
            app.MapDashboard(management);
            app.Lifetime.ApplicationStarted.Register(() => logger.LogInformation(
                "management API: http://{Endpoint}/api/v1 (HTTP/1.1, no TLS, bearer token; {Tokens} token(s)); dashboard http://{DashboardEndpoint}/, metrics http://{MetricsEndpoint}/metrics",
                management.Options.Endpoint, management.Options.Tokens.Count, management.Options.Endpoint, management.Options.Endpoint));
        }
        return app;
    }
}
