using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace VslsActors.Cli.Ctl;

/// <summary>A <c>vsls ctl</c> failure: one line for the operator and the exit code it ends with.</summary>
public sealed class CtlException(string message, int exitCode) : Exception(message)
{
    /// <summary>Exit code: <see cref="CtlClient.BadInput"/> or <see cref="CtlClient.Failed"/>.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// The HTTP side of <c>vsls ctl</c>: one member's management API (docs/management-api.md) with a bearer
/// token. Every failure becomes a <see cref="CtlException"/> with one line: the endpoint unreachable,
/// the token refused, or the API's own <c>{"error": ...}</c>.
/// </summary>
public sealed class CtlClient : IDisposable
{
    /// <summary>Exit code of a command the API or ctl refused as wrong (400, 404, bad arguments).</summary>
    public const int BadInput = 2;

    /// <summary>Exit code of anything else that failed (unreachable, 401, 409, 5xx).</summary>
    public const int Failed = 1;

    private readonly HttpClient _http;

    /// <summary>A client of the API at <paramref name="endpoint"/> (<c>host:port</c> or a URL) with <paramref name="token"/>.</summary>
    public CtlClient(string endpoint, string? token)
    {
        Endpoint = endpoint.Contains("://", StringComparison.Ordinal) ? endpoint.TrimEnd('/') : "http://" + endpoint;
        _http = new HttpClient { BaseAddress = new Uri(Endpoint + "/api/v1/"), Timeout = Timeout.InfiniteTimeSpan };
        if (!string.IsNullOrEmpty(token))
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>The API's base URL.</summary>
    public string Endpoint { get; }

    /// <summary>GET, returning the body as text (JSON unless the route says otherwise).</summary>
    public Task<string> GetAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, null, ct);

    /// <summary>POST with an optional JSON or text body.</summary>
    public Task<string> PostAsync(string path, object? json, CancellationToken ct, string? text = null) =>
        SendAsync(HttpMethod.Post, path, json, text, ct);

    /// <summary>
    /// GET a server-sent-event stream; <paramref name="onEvent"/> gets each (event, data) until cancelled.
    /// </summary>
    /// <exception cref="CtlException">The member ended the stream or the connection broke (exit 1).</exception>
    public async Task StreamAsync(string path, Func<string, string, Task> onEvent, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        using var response = await Send(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string kind = "message";
        try
        {
            while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal))
                    kind = line["event: ".Length..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal))
                    await onEvent(kind, line["data: ".Length..]).ConfigureAwait(false);
            }
        }
        catch (IOException e) when (!ct.IsCancellationRequested)
        {
            throw new CtlException($"the stream from {Endpoint} broke: {e.Message}", Failed);
        }
        // A stream only ends from the member's side when it stops (or drops the connection): not a
        // normal end for a command that runs until interrupted.
        ct.ThrowIfCancellationRequested();
        throw new CtlException($"{Endpoint} ended the stream (the member is stopping?)", Failed);
    }

    private async Task<string> SendAsync(HttpMethod method, string path, object? json, string? text, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
            request.Content = new StringContent(JsonSerializer.Serialize(json, JsonSerializerOptions.Web), Encoding.UTF8, "application/json");
        else if (text is not null)
            request.Content = new StringContent(text, Encoding.UTF8, "text/plain");
        using var response = await Send(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> Send(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new CtlException($"cannot reach the management API at {Endpoint}: {e.Message}", Failed);
        }
        if (response.IsSuccessStatusCode)
            return response;
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            var message = ErrorOf(body) ?? $"{(int)response.StatusCode} {response.ReasonPhrase}";
            throw response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => new CtlException($"{Endpoint} refused the token: {message} (give --token or VSLS_CTL_TOKEN)", Failed),
                HttpStatusCode.BadRequest or HttpStatusCode.NotFound => new CtlException(message, BadInput),
                _ => new CtlException(message, Failed),
            };
        }
    }

    private static string? ErrorOf(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();
}
