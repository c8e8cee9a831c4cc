using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace VslsActors.MultiNode.Harness;

/// <summary>One member in another member's <c>/cluster</c> view.</summary>
public sealed record ViewMember(string? Member, string Address, string Status, bool Reachable);

/// <summary>A member's <c>GET /cluster</c>.</summary>
public sealed record ClusterView(string? SelfMember, string? Coordinator, string? Leader, IReadOnlyList<ViewMember> Members)
{
    /// <summary>This member's own status in its own view (null when it is not in it: removed).</summary>
    public string? SelfStatus => Members.FirstOrDefault(m => m.Member == SelfMember)?.Status;
}

/// <summary>One row of <c>GET /vs</c>.</summary>
public sealed record VsView(int Vs, string? Active, string? Standby, string? RunningOn, int? Connections);

/// <summary>One connection of <c>GET /vs/{vs}/connections</c> (the connection-table format).</summary>
public sealed record ConnectionView(
    [property: JsonPropertyName("proto")] string Proto,
    [property: JsonPropertyName("orig_h")] string OrigHost,
    [property: JsonPropertyName("orig_p")] int OrigPort,
    [property: JsonPropertyName("resp_h")] string RespHost,
    [property: JsonPropertyName("resp_p")] int RespPort,
    [property: JsonPropertyName("state")] string State)
{
    /// <summary>The key the traffic driver uses for a connection.</summary>
    public string Key => $"{Proto} {OrigHost}:{OrigPort} > {RespHost}:{RespPort}";
}

/// <summary>The management API of one member, as the harness reads it (bearer token, short timeouts).</summary>
public sealed class MemberApi : IDisposable
{
    /// <summary>The token every harness member is started with.</summary>
    public const string TokenName = "harness";

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    internal MemberApi(Uri baseUri, string secret)
    {
        _http = new HttpClient { BaseAddress = baseUri, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
    }

    /// <summary>GET a path below <c>/api/v1/</c> as JSON; throws <see cref="HttpRequestException"/> or a timeout.</summary>
    public async Task<JsonDocument> GetAsync(string path, TimeSpan timeout, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        using var response = await _http.GetAsync(path, cts.Token).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"GET {path}: {(int)response.StatusCode} {body}", null, response.StatusCode);
        return JsonDocument.Parse(body);
    }

    /// <summary>POST to a path below <c>/api/v1/</c> (an empty JSON body); the reply's text.</summary>
    public async Task<string> PostAsync(string path, TimeSpan timeout, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        using var content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(path, content, cts.Token).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"POST {path}: {(int)response.StatusCode} {body}", null, response.StatusCode);
        return body;
    }

    /// <summary><c>GET /cluster</c>.</summary>
    public async Task<ClusterView> ClusterAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        using var doc = await GetAsync("cluster", timeout, ct).ConfigureAwait(false);
        var r = doc.RootElement;
        var members = r.GetProperty("members").EnumerateArray().Select(m => new ViewMember(
            m.GetProperty("member").GetString(), m.GetProperty("address").GetString() ?? "",
            m.GetProperty("status").GetString() ?? "", m.GetProperty("reachable").GetBoolean())).ToArray();
        return new ClusterView(r.GetProperty("selfMember").GetString(), Str(r, "coordinator"), Str(r, "leader"), members);
    }

    /// <summary><c>GET /sharding/region-stats</c>: the VS ids this member's own region runs (shards with an entity).</summary>
    public async Task<IReadOnlyList<int>> LocalVirtualSystemsAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        using var doc = await GetAsync("sharding/region-stats", timeout, ct).ConfigureAwait(false);
        return doc.RootElement.GetProperty("shards").EnumerateArray()
            .Where(s => s.GetProperty("entities").GetInt32() > 0)
            .Select(s => int.TryParse(s.GetProperty("shard").GetString(), out var id) ? id : -1)
            .Where(id => id > 0).Order().ToArray();
    }

    /// <summary><c>GET /vs</c>.</summary>
    public async Task<IReadOnlyList<VsView>> VirtualSystemsAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        using var doc = await GetAsync("vs", timeout, ct).ConfigureAwait(false);
        return doc.RootElement.GetProperty("vss").EnumerateArray().Select(v => new VsView(
            v.GetProperty("vs").GetInt32(), Str(v, "active"), Str(v, "standby"), Str(v, "runningOn"),
            v.TryGetProperty("connections", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : null)).ToArray();
    }

    /// <summary><c>GET /vs/{vs}/connections</c>: the whole table (up to <paramref name="limit"/>).</summary>
    public async Task<IReadOnlyList<ConnectionView>> ConnectionsAsync(int vs, TimeSpan timeout, int limit = 1_000_000, CancellationToken ct = default)
    {
        using var doc = await GetAsync($"vs/{vs}/connections?limit={limit}", timeout, ct).ConfigureAwait(false);
        return doc.RootElement.GetProperty("connections").Deserialize<ConnectionView[]>(s_json) ?? [];
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
