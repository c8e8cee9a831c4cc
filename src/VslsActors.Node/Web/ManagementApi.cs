using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VslsActors.Cluster.Export;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Overload;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Registry;
using VslsActors.Cluster.Sharding;
using VslsActors.Domain;
using VslsActors.Domain.Configuration;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Placement;
using VslsActors.Domain.Topology;

namespace VslsActors.Node.Web;

/// <summary>JSON settings of the management API: camelCase names, enums as strings.</summary>
public static class ManagementJson
{
    /// <summary>The serializer options every route uses.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };
}

/// <summary>
/// The management API's routes (docs/management-api.md), under <c>/api/v1</c> on the API port only.
/// Every route needs <c>Authorization: Bearer &lt;secret&gt;</c>; errors are <c>{"error": "..."}</c>
/// with 400 (bad input or a change the registry rejected), 401 (no or wrong token), 404 (unknown
/// VS, member or route), 409 (the cluster cannot do it now), 504 (the cluster did not answer in time).
/// </summary>
public static class ManagementApi
{
    private const string TokenNameKey = "vsls.token-name";

    /// <summary>Maps the routes onto <paramref name="app"/>.</summary>
    public static void MapManagementApi(this WebApplication app, ManagementContext context)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(context);
        // Kestrel serves both ports; the API answers on its own port only (the ingress port is gRPC's).
        app.Use(async (http, next) =>
        {
            var path = http.Request.Path;
            // /metrics takes the same bearer token as the API: Prometheus sends it with `authorization: {credentials: ...}`.
            var guarded = path.StartsWithSegments("/api", StringComparison.Ordinal) || path.Equals("/metrics", StringComparison.Ordinal);
            if (guarded && http.Connection.LocalPort != context.Options.Port)
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            if (guarded)
            {
                var header = http.Request.Headers.Authorization.ToString();
                var name = header.StartsWith("Bearer ", StringComparison.Ordinal) ? context.Options.NameOf(header["Bearer ".Length..].Trim()) : null;
                if (name is null)
                {
                    http.Response.Headers.WWWAuthenticate = "Bearer realm=\"vsls\"";
                    await Results.Json(new { error = header.Length == 0 ? "no bearer token (Authorization: Bearer <token>)" : "the token is not accepted" },
                        ManagementJson.Options, statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(http).ConfigureAwait(false);
                    return;
                }
                http.Items[TokenNameKey] = name;
            }
            await next(http).ConfigureAwait(false);
        });

        var api = app.MapGroup("/api/v1");
        api.MapGet("/cluster", () => Guard(() => Task.FromResult(ClusterShow(context))));
        api.MapGet("/cluster/events", (HttpContext http) => StreamEventsAsync(http, context));
        api.MapPost("/cluster/members/{member}/leave", (string member) => Guard(() => Task.FromResult(Leave(context, member, down: false))));
        api.MapPost("/cluster/members/{member}/down", (string member) => Guard(() => Task.FromResult(Leave(context, member, down: true))));
        api.MapPost("/cluster/down-unreachable", () => Guard(() => Task.FromResult(DownUnreachable(context))));
        api.MapGet("/sharding/regions", (CancellationToken ct) => Guard(() => ShardingRegionsAsync(context, ct)));
        api.MapGet("/sharding/region-stats", (CancellationToken ct) => Guard(() => RegionStatsAsync(context, ct)));
        api.MapGet("/sharding/shard-stats", (CancellationToken ct) => Guard(() => ShardStatsAsync(context, ct)));
        api.MapGet("/ha", (CancellationToken ct) => Guard(() => HaStatAsync(context, ct)));
        api.MapGet("/vs", (CancellationToken ct) => Guard(() => VsListAsync(context, null, ct)));
        api.MapGet("/vs/{vs}", (string vs, CancellationToken ct) => Guard(() => VsListAsync(context, vs, ct)));
        api.MapPost("/vs/{vs}/failover", (HttpContext http, string vs, CancellationToken ct) => Guard(() => FailoverAsync(context, By(http, context), vs, ct)));
        api.MapGet("/vs/{vs}/connections", (string vs, int? limit, string? filter, CancellationToken ct) => Guard(() => ConnectionsAsync(context, vs, limit, filter, ct)));
        api.MapPost("/vs/{vs}/limits", (HttpContext http, string vs, LimitsBody body, CancellationToken ct) =>
            Guard(() => ChangeAsync(context, Limits(context, vs, body, By(http, context)), ct)));
        api.MapGet("/vs/{vs}/connections/count", (string vs, CancellationToken ct) => Guard(() => CountAsync(context, vs, ct)));
        api.MapGet("/dist", (CancellationToken ct) => Guard(() => DistShowAsync(context, ct)));
        api.MapGet("/dist/export", (CancellationToken ct) => Guard(() => ExportAsync(context, ct)));
        api.MapGet("/dist/advise", (string? by, CancellationToken ct) => Guard(() => AdviseAsync(context, by, ct)));
        api.MapGet("/dist/loads", (CancellationToken ct) => Guard(() => LoadsAsync(context, ct)));
        api.MapPost("/dist/equal", (HttpContext http, string? by, CancellationToken ct) =>
            Guard(() => ByLoad(by)
                ? EqualByLoadAsync(context, By(http, context), ct)
                : ChangeAsync(context, new RegistryCommands.SetDistribution(DistributionMode.Equal, null, By(http, context)), ct)));
        api.MapPost("/dist/all-on/{member}", (HttpContext http, string member, CancellationToken ct) =>
            Guard(() => ChangeAsync(context, new RegistryCommands.SetDistribution(DistributionMode.AllOn, member, By(http, context)), ct)));
        api.MapPost("/dist/priority/{vs}", (HttpContext http, string vs, PriorityBody body, CancellationToken ct) =>
            Guard(() => ChangeAsync(context, new RegistryCommands.SetPriority(Vs(context, vs), (body.Members ?? "").Split(','), By(http, context)), ct)));
        api.MapPost("/dist/weight/{vs}", (HttpContext http, string vs, WeightBody body, CancellationToken ct) =>
            Guard(() => ChangeAsync(context, new RegistryCommands.SetWeight(Vs(context, vs), body.Weight, By(http, context)), ct)));
        api.MapPost("/dist/failback/{mode}", (HttpContext http, string mode, CancellationToken ct) =>
            Guard(() => ChangeAsync(context, new RegistryCommands.SetFailback(Failback(mode), By(http, context)), ct)));
        api.MapPost("/dist/import", async (HttpContext http, CancellationToken ct) =>
        {
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(ct).ConfigureAwait(false);
            return await Guard(() => ChangeAsync(context, new RegistryCommands.Import(text, By(http, context)), ct)).ConfigureAwait(false);
        });
        api.MapPost("/members/{member}/drain", (HttpContext http, string member, CancellationToken ct) =>
            Guard(() => ChangeAsync(context, new RegistryCommands.Drain(member, By(http, context)), ct)));
        api.MapPost("/members/{member}/undrain", (HttpContext http, string member, CancellationToken ct) =>
            Guard(() => ChangeAsync(context, new RegistryCommands.Undrain(member, By(http, context)), ct)));
        api.MapGet("/plan/fail", (string? members, CancellationToken ct) => Guard(() => PlanFailAsync(context, members, ct)));
        api.MapGet("/actors", (string? path, int? depth, CancellationToken ct) => Guard(() => ActorsAsync(context, path ?? "/user", depth ?? 3, ct)));
        api.MapGet("/audit", (int? last, CancellationToken ct) => Guard(() => AuditAsync(context, last ?? 20, ct)));
        api.MapGet("/dashboard/stream", (HttpContext http) => StreamDashboardAsync(http, context));
        app.MapFallback("/api/{**rest}", () => Error(StatusCodes.Status404NotFound, "no such route (see docs/management-api.md)"));
    }

    /// <summary>Body of <c>POST /dist/priority/{vs}</c>: the list as written on the command line, <c>m1,m2,...</c>.</summary>
    public sealed record PriorityBody(string? Members);

    /// <summary>Body of <c>POST /dist/weight/{vs}</c>.</summary>
    public sealed record WeightBody(int Weight);

    /// <summary>
    /// Body of <c>POST /vs/{vs}/limits</c>: each limit a whole number, the rates also <c>"off"</c>;
    /// a field left out stays as it is.
    /// </summary>
    public sealed record LimitsBody(JsonElement? MaxConnections, JsonElement? PacketsPerSecond, JsonElement? NewConnectionsPerSecond);

    private static RegistryCommands.SetLimits Limits(ManagementContext context, string vsText, LimitsBody? body, string by)
    {
        var vs = Vs(context, vsText);
        var max = LimitText(body?.MaxConnections, "maxConnections");
        var pps = LimitText(body?.PacketsPerSecond, "packetsPerSecond");
        var cps = LimitText(body?.NewConnectionsPerSecond, "newConnectionsPerSecond");
        if (max is null && pps is null && cps is null)
            throw new ApiException(StatusCodes.Status400BadRequest, "nothing to change: give maxConnections, packetsPerSecond and/or newConnectionsPerSecond");
        return new RegistryCommands.SetLimits(vs, max, pps, cps, by);
    }

    /// <summary>A limit as the registry reads it (its own validation names the VS and field); null when not given.</summary>
    private static string? LimitText(JsonElement? value, string field) => value switch
    {
        null => null,
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
        { ValueKind: JsonValueKind.Number } v => v.GetRawText(),
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        { } v => throw new ApiException(StatusCodes.Status400BadRequest, $"{field}: expected a whole number or \"off\", got {v.ValueKind.ToString().ToLowerInvariant()}"),
    };

    /// <summary>A request the API refuses with a status and a one-line reason.</summary>
    private sealed class ApiException(int status, string message) : Exception(message)
    {
        public int Status { get; } = status;
    }

    private static async Task<IResult> Guard(Func<Task<IResult>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            return Error(e.Status, e.Message);
        }
        catch (ConfigException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Message);
        }
        catch (Akka.Actor.AskTimeoutException)
        {
            return Error(StatusCodes.Status504GatewayTimeout, "the cluster did not answer in time (registry or shard region unavailable?)");
        }
        catch (InvalidOperationException e) when (e.Message.Contains("not initialized", StringComparison.OrdinalIgnoreCase))
        {
            return Error(StatusCodes.Status409Conflict, "this member is still starting (its VSLS configuration is not loaded yet); try again shortly");
        }
    }

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, ManagementJson.Options, statusCode: status);

    private static IResult Ok(object value) => Results.Json(value, ManagementJson.Options);

    private static string By(HttpContext http, ManagementContext context) => $"{http.Items[TokenNameKey]}@{context.Member}";

    private static VsId Vs(ManagementContext context, string text)
    {
        if (!VsId.TryParse(text, out var vs))
            throw new ApiException(StatusCodes.Status400BadRequest, $"'{text}' is not a VS id (a positive number)");
        if (!context.IsConfigured(vs))
            throw new ApiException(StatusCodes.Status404NotFound, $"unknown VS {vs} (configured: {string.Join(", ", context.Topology.VirtualSystems.Select(v => v.Id))})");
        return vs;
    }

    private static FailbackMode Failback(string mode) => mode switch
    {
        "primary-up" => FailbackMode.PrimaryUp,
        "active-up" => FailbackMode.ActiveUp,
        _ => throw new ApiException(StatusCodes.Status400BadRequest, $"'{mode}' is not a failback mode (primary-up or active-up)"),
    };

    private static string Name(MemberState state) => state switch
    {
        MemberState.Up => "up",
        MemberState.Draining => "draining",
        _ => "down",
    };

    private static IResult ClusterShow(ManagementContext context)
    {
        var state = context.ClusterState;
        var self = Akka.Cluster.Cluster.Get(context.System).SelfAddress;
        var all = state.Members.Concat(state.Unreachable.Where(u => !state.Members.Contains(u))).ToList();
        var coordinator = state.Members
            .Where(m => m.Status == MemberStatus.Up && m.HasRole(VslsClusterOptions.MemberRole))
            .OrderBy(m => m, Member.AgeOrdering)
            .FirstOrDefault();
        return Ok(new
        {
            self = self.ToString(),
            selfMember = context.Member,
            leader = state.Leader?.ToString(),
            // The shard coordinator and the registry are singletons on the oldest vsls-member.
            coordinator = coordinator is null ? null : ClusterView.NameOf(coordinator)?.Value ?? coordinator.Address.ToString(),
            members = all.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal).Select(m => new
            {
                member = ClusterView.NameOf(m)?.Value,
                address = m.Address.ToString(),
                status = m.Status.ToString(),
                reachable = !state.Unreachable.Contains(m),
                roles = m.Roles.OrderBy(r => r, StringComparer.Ordinal).ToArray(),
                leader = state.Leader == m.Address,
            }),
        });
    }

    private static IResult Leave(ManagementContext context, string member, bool down)
    {
        var m = context.FindMember(member) ?? throw new ApiException(StatusCodes.Status404NotFound, $"unknown member '{member}' (not in the cluster)");
        var cluster = Akka.Cluster.Cluster.Get(context.System);
        if (down)
            cluster.Down(m.Address);
        else
            cluster.Leave(m.Address);
        return Ok(new { member = ClusterView.NameOf(m)?.Value, address = m.Address.ToString(), action = down ? "down" : "leave" });
    }

    private static IResult DownUnreachable(ManagementContext context)
    {
        var cluster = Akka.Cluster.Cluster.Get(context.System);
        var downed = new List<string>();
        foreach (var m in context.ClusterState.Unreachable)
        {
            cluster.Down(m.Address);
            downed.Add(ClusterView.NameOf(m)?.Value ?? m.Address.ToString());
        }
        return Ok(new { downed });
    }

    private static async Task StreamEventsAsync(HttpContext http, ManagementContext context)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var (reader, subscription) = context.Events.Subscribe();
        using var lifetime = StreamLifetime(http);
        using (subscription)
        {
            var ct = lifetime.Token;
            try
            {
                // First the members as they are now, so a client needs no second request.
                var state = context.ClusterState;
                foreach (var m in state.Members)
                {
                    var e = new MembershipEvent("member-" + m.Status.ToString().ToLowerInvariant(), ClusterView.NameOf(m)?.Value, m.Address.ToString(), m.Status.ToString(), DateTimeOffset.UtcNow);
                    await WriteEventAsync(http, "snapshot", e, ct).ConfigureAwait(false);
                }
                await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
                await foreach (var e in reader.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    await WriteEventAsync(http, e.Kind, e, ct).ConfigureAwait(false);
                    await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // The client went away, or this member is stopping: the normal end of a stream.
            }
        }
    }

    /// <summary>
    /// Ends with the request or when the member begins to stop. Kestrel waits for open requests when the
    /// host stops (up to its 60 s timeout), so a stream left open by a dashboard or <c>cluster tail</c>
    /// would hold the member's shutdown, and with it the hand-off of its VSs.
    /// </summary>
    private static CancellationTokenSource StreamLifetime(HttpContext http) =>
        CancellationTokenSource.CreateLinkedTokenSource(
            http.RequestAborted,
            http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);

    /// <summary>How often the dashboard stream reads the cluster: at most one <c>state</c> event per period.</summary>
    public static readonly TimeSpan DashboardPeriod = TimeSpan.FromMilliseconds(500);

    /// <summary>A comment line after this long without an event, so proxies and the page see the stream alive.</summary>
    public static readonly TimeSpan DashboardKeepAlive = TimeSpan.FromSeconds(15);

    /// <summary>
    /// <c>GET /dashboard/stream</c>: server-sent events for the dashboard. Every <see cref="DashboardPeriod"/>
    /// the member reads what the page shows (cluster, ha, vs, audit: the bodies of those routes) and sends
    /// a <c>state</c> event only when it differs from the last one sent; a read that fails sends one
    /// <c>error</c> event and the stream goes on. The page then makes no request of its own per update.
    /// </summary>
    private static async Task StreamDashboardAsync(HttpContext http, ManagementContext context)
    {
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        using var lifetime = StreamLifetime(http);
        var ct = lifetime.Token;
        string? last = null;
        var lastWrite = DateTime.UtcNow;
        try
        {
            using var timer = new PeriodicTimer(DashboardPeriod);
            do
            {
                var (kind, data) = await DashboardStateAsync(context, ct).ConfigureAwait(false);
                var text = $"event: {kind}\ndata: {data}\n\n";
                if (text != last)
                {
                    await http.Response.WriteAsync(text, ct).ConfigureAwait(false);
                    last = text;
                    lastWrite = DateTime.UtcNow;
                }
                else if (DateTime.UtcNow - lastWrite >= DashboardKeepAlive)
                {
                    await http.Response.WriteAsync(": keep-alive\n\n", ct).ConfigureAwait(false);
                    lastWrite = DateTime.UtcNow;
                }
                await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The page went away, or this member is stopping (the page then polls): the normal end of a stream.
        }
    }

    /// <summary>One dashboard event: <c>state</c> {cluster, ha, vs, audit} or <c>error</c> {error}.</summary>
    private static async Task<(string Kind, string Data)> DashboardStateAsync(ManagementContext context, CancellationToken ct)
    {
        // The same bodies as the routes, through the same guard, so the page renders either transport alike.
        var parts = new[]
        {
            ("cluster", await Guard(() => Task.FromResult(ClusterShow(context))).ConfigureAwait(false)),
            ("ha", await Guard(() => HaStatAsync(context, ct)).ConfigureAwait(false)),
            ("vs", await Guard(() => VsListAsync(context, null, ct)).ConfigureAwait(false)),
            ("audit", await Guard(() => AuditAsync(context, 20, ct)).ConfigureAwait(false)),
        };
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, result) in parts)
        {
            var value = (result as IValueHttpResult)?.Value;
            if ((result as IStatusCodeHttpResult)?.StatusCode is not (null or StatusCodes.Status200OK))
                return ("error", JsonSerializer.Serialize(value, ManagementJson.Options));
            state[name] = value;
        }
        return ("state", JsonSerializer.Serialize(state, ManagementJson.Options));
    }

    private static Task WriteEventAsync(HttpContext http, string kind, MembershipEvent e, CancellationToken ct) =>
        http.Response.WriteAsync($"event: {kind}\ndata: {ManagementEvents.Json(e)}\n\n", ct);

    private static async Task<ClusterShardingStats> StatsAsync(ManagementContext context, CancellationToken ct) =>
        await context.AskRegionAsync<ClusterShardingStats>(new GetClusterShardingStats(context.Options.AskTimeout), ct).ConfigureAwait(false);

    private static string MemberOf(ManagementContext context, Akka.Actor.Address address)
    {
        var byAddress = ClusterView.MembersByAddress(context.ClusterState);
        return byAddress.TryGetValue(address, out var m) && ClusterView.NameOf(m) is { } name ? name.Value : address.ToString();
    }

    private static async Task<IResult> ShardingRegionsAsync(ManagementContext context, CancellationToken ct)
    {
        var stats = await StatsAsync(context, ct).ConfigureAwait(false);
        return Ok(new
        {
            regions = stats.Regions.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal).Select(r => new
            {
                member = MemberOf(context, r.Key),
                address = r.Key.ToString(),
                shards = r.Value.Stats.Count,
                entities = r.Value.Stats.Values.Sum(),
                failedShards = r.Value.Failed.Count,
            }),
        });
    }

    private static async Task<IResult> RegionStatsAsync(ManagementContext context, CancellationToken ct)
    {
        var state = await context.AskRegionAsync<CurrentShardRegionState>(GetShardRegionState.Instance, ct).ConfigureAwait(false);
        return Ok(new
        {
            member = context.Member,
            shards = state.Shards.OrderBy(s => s.ShardId, StringComparer.Ordinal).Select(s => new { shard = s.ShardId, entities = s.EntityIds.Count }),
        });
    }

    private static async Task<IResult> ShardStatsAsync(ManagementContext context, CancellationToken ct)
    {
        var stats = await StatsAsync(context, ct).ConfigureAwait(false);
        var shards = stats.Regions
            .SelectMany(r => r.Value.Stats.Select(s => new { shard = s.Key, member = MemberOf(context, r.Key), entities = s.Value }))
            .OrderBy(s => int.TryParse(s.shard, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue)
            .ThenBy(s => s.shard, StringComparer.Ordinal);
        return Ok(new { shards });
    }

    private static async Task<IResult> HaStatAsync(ManagementContext context, CancellationToken ct)
    {
        var (states, placement, running) = await context.PlacementAsync(ct).ConfigureAwait(false);
        var moves = await context.MovesAsync(ct).ConfigureAwait(false);
        var topology = context.Topology;
        var total = topology.VirtualSystems.Sum(v => (long)v.Weight);
        static string At(long ticks) => new DateTime(ticks, DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture);
        var lastByAddress = context.Events.LastByAddress;
        var addresses = ClusterView.MembersByAddress(context.ClusterState).Values
            .Where(m => ClusterView.NameOf(m) is not null)
            .ToDictionary(m => ClusterView.NameOf(m)!.Value, m => m.Address.ToString());
        var overload = MemberOverloadState.Get(context.System);
        return Ok(new
        {
            members = topology.Members.Select(m =>
            {
                var state = states.TryGetValue(m, out var s) ? s : MemberState.Down;
                MembershipEvent? last = addresses.TryGetValue(m, out var a) && lastByAddress.TryGetValue(a, out var e) ? e : null;
                var load = placement.ActiveLoad(m);
                var counts = moves.Members.FirstOrDefault(c => c.Member == m.Value);
                var lastMove = moves.Recent.LastOrDefault(v => v.To == m.Value || v.From == m.Value);
                // Its overload monitor's last report (docs/degradation.md); null = none recent (down, or not hosting VSs).
                var report = state == MemberState.Down ? null : overload.ReportOf(m);
                // The later of: this member's last membership event, the last VS move onto or off it.
                object? change = last is null && lastMove is null ? null
                    : lastMove is not null && (last is null || lastMove.AtTicks > last.At.UtcTicks)
                        ? new { kind = lastMove.To == m.Value ? "took-over" : "handed-over", what = $"VS {lastMove.Vs} {lastMove.From} -> {lastMove.To}", reason = lastMove.Reason, at = At(lastMove.AtTicks) }
                        : new { kind = last!.Kind, what = $"{last.Kind} ({last.Status})", reason = "membership", at = last.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) };
                return new
                {
                    member = m.Value,
                    state = Name(state),
                    active = placement.ActiveOn(m).Length,
                    standby = placement.StandbyOn(m).Length,
                    backup = placement.Vss.Count(p => p.Backups.Contains(m)),
                    running = running.Values.Count(r => r == m),
                    weightedLoad = load,
                    loadPercent = total > 0 ? Math.Round(load * 100.0 / total, 1) : 0,
                    failovers = counts?.TakeOvers ?? 0,
                    handOvers = counts?.HandOvers ?? 0,
                    lastChange = change,
                    degraded = report?.Text,
                    overload = report is null ? null : new
                    {
                        level = report.Level,
                        reason = report.Reason,
                        since = report.SinceTicks > 0 ? At(report.SinceTicks) : null,
                        latencyMs = Math.Round(report.LatencyMicros / 1000.0, 1),
                        queued = report.Queued,
                        overShare = report.OverShare.Select(v => v.Value).ToArray(),
                    },
                };
            }),
            recentMoves = moves.Recent.TakeLast(20).Select(v => new { vs = v.Vs.Value, from = v.From, to = v.To, at = At(v.AtTicks), reason = v.Reason }),
        });
    }

    private static async Task<IResult> VsListAsync(ManagementContext context, string? only, CancellationToken ct)
    {
        var (_, placement, running) = await context.PlacementAsync(ct).ConfigureAwait(false);
        var vss = only is null ? [.. context.Topology.VirtualSystems] : new[] { context.Topology.Find(Vs(context, only))! };
        // One status ask per VS in parallel, short: a VS that does not answer shows no counters rather than failing the list.
        var statuses = await Task.WhenAll(vss.Select(async v =>
        {
            try
            {
                return await context.AskRegionAsync<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(v.Id), ct, TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            }
            catch (Akka.Actor.AskTimeoutException)
            {
                return null;
            }
        })).ConfigureAwait(false);
        var rows = vss.Select((v, i) =>
        {
            var p = placement.Find(v.Id);
            var s = statuses[i];
            return new
            {
                vs = v.Id.Value,
                name = v.Name,
                weight = v.Weight,
                active = p?.Active?.Value,
                standby = p?.Standby?.Value,
                backups = p is null ? [] : p.Backups.Select(b => b.Value).ToArray(),
                runningOn = running.TryGetValue(v.Id.ToString(), out var r) ? r?.Value : null,
                connections = s?.Connections,
                packetsPerSecond = s is null ? null : context.PacketRate(s),
                accepted = s?.Totals.Accepted,
                policyDropped = s?.Totals.PolicyDropped,
                rejected = s?.Totals.Rejected,
                outOfState = s?.Totals.OutOfState,
                overLimit = s?.Totals.OverLimit,
                // Limits in effect (null rate = no limit) and what each refused (docs/limits.md).
                maxConnections = v.MaxConnections,
                packetsPerSecondLimit = v.PacketsPerSecond,
                newConnectionsPerSecondLimit = v.NewConnectionsPerSecond,
                overLimitConnections = s?.Totals.OverConnectionLimit,
                overLimitPacketRate = s?.Totals.OverPacketRate,
                overLimitNewConnectionRate = s?.Totals.OverNewConnectionRate,
                overLimitOverload = s?.Totals.Overload,
            };
        }).ToArray();
        return only is null ? Ok(new { vss = rows }) : Ok(rows[0]);
    }

    private static async Task<IResult> FailoverAsync(ManagementContext context, string by, string vsText, CancellationToken ct)
    {
        var vs = Vs(context, vsText);
        var topology = context.Topology;
        if (topology.Vsls.Failback == FailbackMode.ActiveUp)
        {
            throw new ApiException(StatusCodes.Status409Conflict,
                $"failback is active-up: a VS stays on its Active while it is Up, so a priority change would not move VS {vs}; set 'dist failback primary-up' first, or drain its member");
        }
        var (_, placement, _) = await context.PlacementAsync(ct).ConfigureAwait(false);
        var p = placement.Find(vs);
        if (p?.Active is not { } active || p.Standby is not { } standby)
            throw new ApiException(StatusCodes.Status409Conflict, $"VS {vs} has no Standby to fail over to (fewer than two members Up)");
        // The Standby first, the old Active second (it becomes the Standby, its table warm), the rest as they were.
        var list = PlacementCalculator.ResolvePriorityLists(topology).First(e => e.Vs == vs).Members;
        var members = new[] { standby, active }.Concat(list.Where(m => m != standby && m != active)).Select(m => m.Value).ToArray();
        var result = await context.AskRegistryAsync(new RegistryCommands.SetPriority(vs, members, by), ct).ConfigureAwait(false);
        return result switch
        {
            RegistryReplies.ConfigurationChanged c => Ok(new { version = c.Version, vs = vs.Value, from = active.Value, to = standby.Value, priority = members }),
            RegistryReplies.ConfigurationRejected r => Error(StatusCodes.Status400BadRequest, r.Reason),
            _ => Error(StatusCodes.Status409Conflict, "unexpected registry reply " + result.GetType().Name),
        };
    }

    private static async Task<VirtualSystemReplies.Connections> ListAsync(ManagementContext context, VsId vs, int limit, CancellationToken ct) =>
        await context.AskRegionAsync<VirtualSystemReplies.Connections>(new VirtualSystemQueries.ListConnections(vs, limit), ct).ConfigureAwait(false);

    private static async Task<IResult> ConnectionsAsync(ManagementContext context, string vsText, int? limit, string? filterText, CancellationToken ct)
    {
        var vs = Vs(context, vsText);
        if (limit is < 1)
            throw new ApiException(StatusCodes.Status400BadRequest, $"limit {limit} is not a positive number");
        ConnectionFilter? filter = null;
        if (!string.IsNullOrWhiteSpace(filterText) && !ConnectionFilter.TryCompile(filterText, out filter, out var problem))
            throw new ApiException(StatusCodes.Status400BadRequest, $"filter: {problem}");
        var take = limit ?? 1000;
        // With a filter the whole table is read and filtered here, so the limit counts matches, not rows read.
        var reply = await ListAsync(context, vs, filter is null ? take : int.MaxValue, ct).ConfigureAwait(false);
        var rows = reply.Items.Where(c => filter is null || filter.Matches(ConnectionRow.From(vs, c.Key, c.State, c.RuleName))).Take(take).ToArray();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("vs", vs.Value);
            writer.WriteNumber("total", reply.Total);
            writer.WriteNumber("returned", rows.Length);
            writer.WriteStartArray("connections");
            foreach (var c in rows)
                ConnectionTableJson.Write(writer, vs, c);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Results.Bytes(buffer.WrittenMemory.ToArray(), "application/json");
    }

    private static async Task<IResult> CountAsync(ManagementContext context, string vsText, CancellationToken ct)
    {
        var vs = Vs(context, vsText);
        var reply = await ListAsync(context, vs, 0, ct).ConfigureAwait(false);
        return Ok(new { vs = vs.Value, connections = reply.Total });
    }

    private static async Task<RegistryReplies.CurrentConfiguration> ConfigurationAsync(ManagementContext context, CancellationToken ct) =>
        await context.AskRegistryAsync(RegistryCommands.GetConfiguration.Instance, ct).ConfigureAwait(false) as RegistryReplies.CurrentConfiguration
        ?? throw new ApiException(StatusCodes.Status409Conflict, "unexpected registry reply");

    private static async Task<IResult> DistShowAsync(ManagementContext context, CancellationToken ct)
    {
        var config = await ConfigurationAsync(context, ct).ConfigureAwait(false);
        var (states, placement, _) = await context.PlacementAsync(ct).ConfigureAwait(false);
        var topology = context.Topology;
        var load = Distribution.Imbalance(placement, topology.Members);
        return Ok(new
        {
            version = config.Version,
            distribution = topology.Vsls.Distribution,
            allOnMember = topology.Vsls.AllOnMember?.Value,
            failback = topology.Vsls.Failback,
            drained = config.DrainedMembers,
            vss = PlacementCalculator.ResolvePriorityLists(topology).Select(e =>
            {
                var p = placement.Find(e.Vs);
                return new
                {
                    vs = e.Vs.Value,
                    name = topology.Find(e.Vs)?.Name,
                    weight = e.Weight,
                    priority = e.Members.Select(m => m.Value).ToArray(),
                    active = p?.Active?.Value,
                    standby = p?.Standby?.Value,
                };
            }),
            members = load.Members.Select(m => new
            {
                member = m.Member.Value,
                state = Name(states.TryGetValue(m.Member, out var s) ? s : MemberState.Down),
                activeLoad = m.ActiveLoad,
                standbyLoad = m.StandbyLoad,
                activeCount = m.ActiveCount,
            }),
            activeSpread = load.ActiveSpread,
        });
    }

    private static async Task<IResult> ExportAsync(ManagementContext context, CancellationToken ct)
    {
        var config = await ConfigurationAsync(context, ct).ConfigureAwait(false);
        return Results.Text(config.ConfigText, "text/plain", Encoding.UTF8);
    }

    /// <summary>Whether <c>?by=</c> asks for measured load; null or <c>weight</c> is the configured weights.</summary>
    private static bool ByLoad(string? by) => by switch
    {
        null or "weight" => false,
        "load" => true,
        _ => throw new ApiException(StatusCodes.Status400BadRequest, $"by '{by}' is not weight or load"),
    };

    /// <summary>
    /// Every configured VS's traffic over its load window, read from its status (the window lives in the VS
    /// actor, so any member reads the same figures), and the loads <see cref="MeasuredLoad"/> makes of them.
    /// 409 when a VS does not answer or no VS measured a packet: a plan missing a VS, or made of floors
    /// alone, would be meaningless.
    /// </summary>
    private static async Task<(VsTraffic[] Traffic, IReadOnlyDictionary<VsId, double> Loads)> MeasureAsync(ManagementContext context, CancellationToken ct)
    {
        var vss = context.Topology.VirtualSystems;
        var statuses = await Task.WhenAll(vss.Select(async v =>
        {
            try
            {
                return await context.AskRegionAsync<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(v.Id), ct, TimeSpan.FromSeconds(3)).ConfigureAwait(false);
            }
            catch (Akka.Actor.AskTimeoutException)
            {
                return null;
            }
        })).ConfigureAwait(false);
        var silent = vss.Where((v, i) => statuses[i] is null).Select(v => v.Id.ToString()).ToArray();
        if (silent.Length > 0)
            throw new ApiException(StatusCodes.Status409Conflict, $"VS {string.Join(", ", silent)} did not report its load in time; try again once every VS runs");
        var traffic = vss.Select((v, i) =>
        {
            var s = statuses[i]!;
            // A VS that has not sampled twice yet (just started or moved) measured nothing: it gets the floor.
            return s.LoadWindowTicks is > 0 and var ticks && s.LoadWindowPackets is { } packets
                ? new VsTraffic(v.Id, new LoadFigures(ticks, packets, s.LoadMeanConnections ?? 0).PacketsPerSecond, s.LoadMeanConnections ?? 0)
                : new VsTraffic(v.Id, 0, 0);
        }).ToArray();
        var loads = MeasuredLoad.TryCompute(traffic, out var problem)
            ?? throw new ApiException(StatusCodes.Status409Conflict, problem!);
        return (traffic, loads);
    }

    private static object LoadRows(VsTraffic[] traffic, IReadOnlyDictionary<VsId, double> loads) => traffic.Select(t => new
    {
        vs = t.Vs.Value,
        load = loads[t.Vs],
        packetsPerSecond = Math.Round(t.PacketsPerSecond, 1),
        connections = t.Connections,
    }).ToArray();

    private static async Task<IResult> LoadsAsync(ManagementContext context, CancellationToken ct)
    {
        var (traffic, loads) = await MeasureAsync(context, ct).ConfigureAwait(false);
        var (states, placement, _) = await context.PlacementAsync(ct).ConfigureAwait(false);
        var members = context.Topology.Members;
        return Ok(new
        {
            windowSeconds = LoadWindow.DefaultLength.TotalSeconds,
            vss = LoadRows(traffic, loads),
            members = members.Select(m => new
            {
                member = m.Value,
                state = Name(states.TryGetValue(m, out var s) ? s : MemberState.Down),
                load = Math.Round(placement.ActiveOn(m).Sum(vs => loads.TryGetValue(vs, out var l) ? l : 0), 3),
            }).ToArray(),
        });
    }

    private static async Task<IResult> EqualByLoadAsync(ManagementContext context, string by, CancellationToken ct)
    {
        var (traffic, loads) = await MeasureAsync(context, ct).ConfigureAwait(false);
        var command = new RegistryCommands.EqualByLoad([.. traffic.Select(t => new VsLoad(t.Vs, loads[t.Vs]))], by);
        var result = await context.AskRegistryAsync(command, ct).ConfigureAwait(false);
        return result switch
        {
            RegistryReplies.ConfigurationChanged c => Ok(new { version = c.Version, by = "load", loads = LoadRows(traffic, loads) }),
            RegistryReplies.ConfigurationRejected r => Error(StatusCodes.Status400BadRequest, r.Reason),
            _ => Error(StatusCodes.Status409Conflict, "unexpected registry reply " + result.GetType().Name),
        };
    }

    private static async Task<IResult> AdviseAsync(ManagementContext context, string? byText, CancellationToken ct)
    {
        var byLoad = ByLoad(byText);
        var measured = byLoad ? await MeasureAsync(context, ct).ConfigureAwait(false) : default;
        var (states, placement, _) = await context.PlacementAsync(ct).ConfigureAwait(false);
        var topology = context.Topology;
        var advice = Advisor.Advise(topology, states, placement, measured.Loads);
        static object Shares(IEnumerable<MemberShare> shares) => shares.Select(s => new
        {
            member = s.Member.Value,
            state = Name(s.State),
            load = s.Load,
            percent = Math.Round(s.Percent, 1),
        }).ToArray();
        return Ok(new
        {
            by = byLoad ? "load" : "weight",
            loads = byLoad ? LoadRows(measured.Traffic, measured.Loads) : null,
            balanced = advice.Balanced,
            spreadBefore = advice.SpreadBefore,
            spreadAfter = advice.SpreadAfter,
            tolerance = advice.Tolerance,
            activeMoves = advice.ActiveMoves,
            standbyMoves = advice.StandbyMoves,
            before = Shares(advice.Before),
            after = Shares(advice.After),
            changes = advice.Changes.Select(c => new
            {
                vs = c.Vs.Value,
                load = c.Load,
                oldPriority = c.OldList.Select(m => m.Value).ToArray(),
                newPriority = c.NewList.Select(m => m.Value).ToArray(),
                oldActive = c.OldActive.Value,
                newActive = c.NewActive.Value,
            }),
            // What `dist import` would take to apply it.
            import = advice.Changes.IsEmpty ? "" : VslsConfigFile.Export(advice.ToDocument(topology), DateTimeOffset.UtcNow, topology.Members,
                topology.VirtualSystems.ToDictionary(v => v.Id, v => v.Name), $"Advised by vsls ctl dist advise --by {(byLoad ? "load" : "weight")}; apply with vsls ctl dist import."),
        });
    }

    private static async Task<IResult> ChangeAsync(ManagementContext context, IRegistryChange change, CancellationToken ct)
    {
        var result = await context.AskRegistryAsync(change, ct).ConfigureAwait(false);
        return result switch
        {
            RegistryReplies.ConfigurationChanged c => Ok(new { version = c.Version }),
            RegistryReplies.ConfigurationRejected r => Error(StatusCodes.Status400BadRequest, r.Reason),
            _ => Error(StatusCodes.Status409Conflict, "unexpected registry reply " + result.GetType().Name),
        };
    }

    private static async Task<IResult> PlanFailAsync(ManagementContext context, string? membersText, CancellationToken ct)
    {
        var names = (membersText ?? "").Split(',', StringSplitOptions.TrimEntries);
        var failed = new List<MemberName>();
        foreach (var n in names)
        {
            if (!MemberName.IsValid(n))
                throw new ApiException(StatusCodes.Status400BadRequest, $"plan fail: member: '{n}' is not a member name");
            failed.Add(new MemberName(n));
        }
        var (states, placement, _) = await context.PlacementAsync(ct).ConfigureAwait(false);
        var outlook = WhatIf.Fail(context.Topology, states, placement, failed);
        return Ok(new
        {
            failed = outlook.Failed.Select(m => m.Value).ToArray(),
            evenShare = outlook.EvenShare,
            overloadPercent = outlook.OverloadPercent,
            members = outlook.Members.Select(m => new
            {
                member = m.Member.Value,
                stateBefore = Name(m.StateBefore),
                stateAfter = Name(m.StateAfter),
                activeLoadBefore = m.ActiveLoadBefore,
                activeLoadAfter = m.ActiveLoadAfter,
                activeCountAfter = m.ActiveCountAfter,
                percentOfEvenShare = Math.Round(m.PercentOfEvenShareAfter, 1),
                overloaded = outlook.Warnings.Contains(m),
            }),
            changes = outlook.Changes.Select(c => new { vs = c.Vs.Value, weight = c.Weight, from = c.From?.Value, to = c.To?.Value }),
            downVss = outlook.DownVss.Select(v => v.Value).ToArray(),
        });
    }

    private static async Task<IResult> ActorsAsync(ManagementContext context, string path, int depth, CancellationToken ct)
    {
        if (depth is < 0 or > 20)
            throw new ApiException(StatusCodes.Status400BadRequest, $"depth {depth} is outside 0-20");
        if (!path.StartsWith('/'))
            throw new ApiException(StatusCodes.Status400BadRequest, $"path '{path}' is not an actor path (it starts with /, e.g. /user or /system/sharding)");
        Akka.Actor.IActorRef root;
        try
        {
            root = await context.System.ActorSelection(path).ResolveOne(TimeSpan.FromSeconds(3), ct).ConfigureAwait(false);
        }
        catch (Akka.Actor.ActorNotFoundException)
        {
            throw new ApiException(StatusCodes.Status404NotFound, $"no actor at '{path}' on {context.Member}");
        }
        // This member's own actors only: local refs carry their children (a snapshot; they come and go).
        var actors = new List<object>();
        void Walk(Akka.Actor.IActorRef actor, int level)
        {
            actors.Add(new { path = actor.Path.ToStringWithoutAddress(), depth = level });
            if (level >= depth || actor is not Akka.Actor.ActorRefWithCell cell)
                return;
            foreach (var child in cell.Children.OrderBy(c => c.Path.Name, StringComparer.Ordinal))
                Walk(child, level + 1);
        }
        Walk(root, 0);
        return Ok(new { member = context.Member, actors });
    }

    private static async Task<IResult> AuditAsync(ManagementContext context, int last, CancellationToken ct)
    {
        if (last is < 1 or > RegistryCommands.GetHistory.MaxLast)
            throw new ApiException(StatusCodes.Status400BadRequest, $"last {last} is outside 1-{RegistryCommands.GetHistory.MaxLast}");
        object result;
        try
        {
            result = await context.AskRegistryAsync(new RegistryCommands.GetHistory(last), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not Akka.Actor.AskTimeoutException and not OperationCanceledException)
        {
            throw new ApiException(StatusCodes.Status409Conflict, "the registry could not read its journal: " + e.GetBaseException().Message);
        }
        if (result is not RegistryReplies.History history)
            throw new ApiException(StatusCodes.Status409Conflict, "the registry could not read its journal: " + (result as Akka.Actor.Status.Failure)?.Cause?.Message);
        return Ok(new
        {
            changes = history.Entries.Select(e => new
            {
                version = e.Version,
                at = new DateTime(e.AtTicks, DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture),
                by = e.ChangedBy,
                what = e.Description,
                diff = ConfigDiff.Lines(e.ConfigBefore, e.ConfigAfter)
                    .Concat(e.DrainedBefore.Except(e.DrainedAfter).Select(m => "- drained " + m))
                    .Concat(e.DrainedAfter.Except(e.DrainedBefore).Select(m => "+ drained " + m))
                    .ToArray(),
                before = e.ConfigBefore,
                after = e.ConfigAfter,
            }),
        });
    }
}

/// <summary>The lines two VSLS configuration texts differ in (comments ignored: they hold export times).</summary>
public static class ConfigDiff
{
    /// <summary><c>- line</c> for each line only in <paramref name="before"/>, <c>+ line</c> for each only in <paramref name="after"/>, in text order.</summary>
    public static IEnumerable<string> Lines(string before, string after)
    {
        static List<string> Of(string text) => [.. text.Split('\n').Select(l => l.TrimEnd('\r').Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
        var b = Of(before);
        var a = Of(after);
        var onlyBefore = b.Except(a).Select(l => "- " + l);
        var onlyAfter = a.Except(b).Select(l => "+ " + l);
        return onlyBefore.Concat(onlyAfter);
    }
}
