using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace VslsActors.Node.Web;

/// <summary>
/// What the API port serves besides <c>/api/v1</c>: <c>/metrics</c> (Prometheus text from the OpenTelemetry
/// exporter, token-protected like the API by <see cref="ManagementApi"/>'s guard) and the dashboard page
/// at <c>/</c> and <c>/dashboard</c> (no token to load it; every data call it makes sends one).
/// </summary>
public static class ManagementPages
{
    private const string DashboardResource = "VslsActors.Node.Web.Dashboard.dashboard.html";
    private static readonly Lazy<byte[]> s_dashboard = new(() =>
    {
        using var stream = typeof(ManagementPages).Assembly.GetManifestResourceStream(DashboardResource)
            ?? throw new InvalidOperationException($"the dashboard resource {DashboardResource} is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>The dashboard page (HTML with its script inline).</summary>
    public static ReadOnlyMemory<byte> Dashboard => s_dashboard.Value;

    /// <summary>Serves <c>/metrics</c> on the API port: refreshes <paramref name="metrics"/>' sample, then the exporter writes it.</summary>
    public static WebApplication MapManagementMetrics(this WebApplication app, ManagementContext context, ManagementMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(metrics);
        bool IsScrape(HttpContext http) =>
            http.Request.Path.Equals("/metrics", StringComparison.Ordinal) && http.Connection.LocalPort == context.Options.Port;
        app.Use(async (http, next) =>
        {
            // The observable instruments read the sample synchronously during the export: read the cluster first.
            if (IsScrape(http))
            {
                try
                {
                    await metrics.RefreshAsync(http.RequestAborted).ConfigureAwait(false);
                }
                catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
                {
                    // A member still starting, or a cluster that does not answer: one line, and the scrape
                    // counts as failed (Prometheus' `up` = 0) rather than exporting stale figures.
                    http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    await http.Response.WriteAsync("metrics: the cluster did not answer: " + e.GetBaseException().Message + "\n", http.RequestAborted).ConfigureAwait(false);
                    return;
                }
            }
            await next(http).ConfigureAwait(false);
        });
        app.UseOpenTelemetryPrometheusScrapingEndpoint(IsScrape);
        return app;
    }

    /// <summary>Serves the dashboard at <c>/</c> and <c>/dashboard</c> on the API port.</summary>
    public static WebApplication MapDashboard(this WebApplication app, ManagementContext context)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(context);
        IResult Page(HttpContext http)
        {
            if (http.Connection.LocalPort != context.Options.Port)
                return Results.NotFound();
            // The page holds no data: it may load without a token, and every call it makes needs one.
            http.Response.Headers.CacheControl = "no-store";
            http.Response.Headers["Content-Security-Policy"] = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'";
            return Results.Bytes(Dashboard, "text/html; charset=utf-8");
        }
        app.MapGet("/", Page);
        app.MapGet("/dashboard", Page);
        return app;
    }
}
