using System.Text.Json;
using System.Text.Json.Serialization;

namespace VslsActors.MultiNode.Checking;

/// <summary>
/// One reading of one member's own view, taken from outside through its management API. The member
/// answered somewhere between <see cref="Start"/> and <see cref="End"/> (UTC); that window is all the
/// checker assumes about when the view held.
/// </summary>
/// <param name="Member">The member asked.</param>
/// <param name="Pid">Its process at the time (a restart is a new process, a new incarnation of the member).</param>
/// <param name="Start">When the requests went out.</param>
/// <param name="End">When the last answer came in.</param>
/// <param name="SelfStatus">Its own status in its own view (<c>Up</c>, <c>Leaving</c>, <c>Down</c>, ...); null = it is not in its own view.</param>
/// <param name="View">Every member it sees: name, status, reachable.</param>
/// <param name="Running">The VSs its local shard region runs.</param>
public sealed record Sample(
    string Member,
    int Pid,
    DateTime Start,
    DateTime End,
    string? SelfStatus,
    IReadOnlyList<SampledMember> View,
    IReadOnlyList<int> Running)
{
    /// <summary>The status this sample gives <paramref name="member"/>: null = not in the view (removed, or never joined).</summary>
    public string? StatusOf(string member) => View.FirstOrDefault(v => v.Member == member)?.Status;
}

/// <summary>A member as another member sees it.</summary>
public sealed record SampledMember(string Member, string Status, bool Reachable);

/// <summary>Something that happened in a run (a fault, a step), kept in the history beside the samples.</summary>
public sealed record HistoryEvent(DateTime At, string Text);

/// <summary>
/// The record of a run: every sample and every event, in arrival order. Thread-safe; written as JSON
/// lines (<c>history.jsonl</c>: one <c>{"sample":…}</c> or <c>{"event":…}</c> per line) as it grows.
/// </summary>
public sealed class History : IDisposable
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.Never };
    private readonly object _gate = new();
    private readonly List<Sample> _samples = [];
    private readonly List<HistoryEvent> _events = [];
    private readonly StreamWriter? _file;

    /// <summary>A history written to <paramref name="path"/> (null = memory only, for tests of the checker).</summary>
    public History(string? path = null)
    {
        if (path is not null)
            _file = new StreamWriter(path, append: false) { AutoFlush = true };
    }

    /// <summary>A history made of given samples and events (tests of the checker).</summary>
    public static History Of(IEnumerable<Sample> samples, IEnumerable<HistoryEvent>? events = null)
    {
        var h = new History();
        foreach (var s in samples)
            h.Add(s);
        foreach (var e in events ?? [])
            h.Add(e);
        return h;
    }

    /// <summary>Adds a sample.</summary>
    public void Add(Sample sample)
    {
        lock (_gate)
        {
            _samples.Add(sample);
            _file?.WriteLine(JsonSerializer.Serialize(new { sample }, s_json));
        }
    }

    /// <summary>Adds an event.</summary>
    public void Add(HistoryEvent e)
    {
        lock (_gate)
        {
            _events.Add(e);
            _file?.WriteLine(JsonSerializer.Serialize(new { @event = e }, s_json));
        }
    }

    /// <summary>The samples so far, ordered by <see cref="Sample.Start"/>.</summary>
    public IReadOnlyList<Sample> Samples
    {
        get { lock (_gate) return [.. _samples.OrderBy(s => s.Start)]; }
    }

    /// <summary>The events so far, in time order.</summary>
    public IReadOnlyList<HistoryEvent> Events
    {
        get { lock (_gate) return [.. _events.OrderBy(e => e.At)]; }
    }

    /// <summary>
    /// The samples and events within <paramref name="margin"/> of <paramref name="at"/>, as readable
    /// lines (with whether each sample runs <paramref name="vs"/> when given), for a finding's message.
    /// </summary>
    public string Excerpt(DateTime at, TimeSpan margin, int? vs = null, DateTime? origin = null)
    {
        var o = origin ?? at;
        string T(DateTime t) => $"{(t - o).TotalSeconds,7:+0.000;-0.000}s";
        var lines = new List<(DateTime, string)>();
        foreach (var s in Samples.Where(s => s.End >= at - margin && s.Start <= at + margin))
        {
            var view = string.Join(" ", s.View.Select(v => $"{v.Member}={v.Status}{(v.Reachable ? "" : "(unreachable)")}"));
            var runs = vs is { } id ? (s.Running.Contains(id) ? $"runs VS {id}" : $"not VS {id}") : $"runs [{string.Join(",", s.Running)}]";
            lines.Add((s.Start, $"  {T(s.Start)}..{T(s.End)} {s.Member} (pid {s.Pid}, self {s.SelfStatus ?? "absent"}): {runs}; view {view}"));
        }
        foreach (var e in Events.Where(e => e.At >= at - margin && e.At <= at + margin))
            lines.Add((e.At, $"  {T(e.At)} ** {e.Text}"));
        return lines.Count == 0 ? "  (no samples near that time)" : string.Join('\n', lines.OrderBy(l => l.Item1).Select(l => l.Item2));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
            _file?.Dispose();
    }
}
