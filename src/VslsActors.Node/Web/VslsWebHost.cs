using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Node.Web;

/// <summary>
/// The member's web host: one Kestrel endpoint, HTTP/2 without TLS (prior knowledge, as gRPC clients
/// dial <c>http://</c>), serving the ingress gRPC service. The one place where web endpoints are wired,
/// so the management API of a later issue joins this host instead of starting another.
/// </summary>
public static class VslsWebHost
{
    /// <summary>A web application builder listening on <paramref name="options"/>' endpoint, with the ingress service.</summary>
    /// <param name="options">Endpoint and limits.</param>
    /// <param name="context">Creates the ingress context once the host's services exist.</param>
    public static WebApplicationBuilder CreateBuilder(IngressOptions options, Func<IServiceProvider, IngressHostContext> context)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Listen(options.Address, options.Port, l => l.Protocols = HttpProtocols.Http2);
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
        builder.Services.AddSingleton(context);
        return builder;
    }

    /// <summary>Maps the endpoints onto <paramref name="app"/>.</summary>
    public static WebApplication MapVslsEndpoints(this WebApplication app)
    {
        app.UseRouting();
        app.MapGrpcService<IngressService>();
        var context = app.Services.GetRequiredService<IngressHostContext>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(VslsWebHost));
        // Operators and scripts look for this line to know where to point loadgen (Kestrel's own is filtered out).
        app.Lifetime.ApplicationStarted.Register(() => logger.LogInformation(
            "ingress: gRPC on http://{Endpoint} (HTTP/2, no TLS), at most {MaxInFlight} batches in flight per stream",
            context.Options.Endpoint, context.Options.MaxInFlight));
        return app;
    }
}
