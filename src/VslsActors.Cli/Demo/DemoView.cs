using System.Globalization;
using Spectre.Console;

namespace VslsActors.Cli.Demo;

/// <summary>One member's line of live progress.</summary>
internal sealed record MemberProgress(string Name, string State, int ActiveVss, int Connections, double PacketsPerSecond);

/// <summary>A second's worth of progress.</summary>
internal sealed record ProgressSnapshot(TimeSpan Elapsed, IReadOnlyList<MemberProgress> Members, long Sent, long Accepted, long PolicyDrops, long OutOfState, long Unanswered);

/// <summary>Where the demo shows what happens: a live table on a terminal, plain lines otherwise.</summary>
internal interface IDemoView
{
    /// <summary>Runs the demo's body while the view is shown.</summary>
    Task RunAsync(Func<Task> body);

    /// <summary>Something happened (member started, member killed, VS failed over).</summary>
    void Event(TimeSpan at, string message);

    /// <summary>New progress figures.</summary>
    void Progress(ProgressSnapshot snapshot);
}

/// <summary>Plain lines: for redirected output, CI logs and <c>--json</c> (then on stderr).</summary>
internal sealed class PlainDemoView(TextWriter writer) : IDemoView
{
    public Task RunAsync(Func<Task> body) => body();

    public void Event(TimeSpan at, string message) => writer.WriteLine($"[{Seconds(at)}] {message}");

    public void Progress(ProgressSnapshot s)
    {
        var members = string.Join(" | ", s.Members.Select(m =>
            $"{m.Name} {m.State}: {m.ActiveVss} VSs, {m.Connections} conns, {m.PacketsPerSecond.ToString("0", CultureInfo.InvariantCulture)} pps"));
        writer.WriteLine($"[{Seconds(s.Elapsed)}] {members} | sent {s.Sent}, accepted {s.Accepted}, policy drops {s.PolicyDrops}, out-of-state {s.OutOfState}, unanswered {s.Unanswered}");
    }

    internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";
}

/// <summary>A live Spectre.Console table per member, with totals and the latest events under it.</summary>
internal sealed class LiveDemoView(IAnsiConsole console) : IDemoView
{
    private readonly Table _layout = new Table().NoBorder().HideHeaders().AddColumn("");
    private readonly List<string> _events = [];
    private LiveDisplayContext? _context;
    private ProgressSnapshot? _last;

    public async Task RunAsync(Func<Task> body)
    {
        Render();
        await console.Live(_layout).AutoClear(false).StartAsync(async ctx =>
        {
            _context = ctx;
            await body().ConfigureAwait(false);
            Render();
        }).ConfigureAwait(false);
        _context = null;
    }

    public void Event(TimeSpan at, string message)
    {
        _events.Add($"[grey]{PlainDemoView.Seconds(at)}[/] {Markup.Escape(message)}");
        if (_events.Count > 8)
            _events.RemoveAt(0);
        Render();
    }

    public void Progress(ProgressSnapshot snapshot)
    {
        _last = snapshot;
        Render();
    }

    private void Render()
    {
        var members = new Table().Border(TableBorder.Rounded)
            .AddColumn("member").AddColumn("state").AddColumn(new TableColumn("Active VSs").RightAligned())
            .AddColumn(new TableColumn("connections").RightAligned()).AddColumn(new TableColumn("packets/s").RightAligned());
        if (_last is { } s)
        {
            foreach (var m in s.Members)
            {
                var state = m.State == "up" ? "[green]up[/]" : $"[red]{Markup.Escape(m.State)}[/]";
                members.AddRow(Markup.Escape(m.Name), state, m.ActiveVss.ToString(CultureInfo.InvariantCulture),
                    m.Connections.ToString("N0", CultureInfo.InvariantCulture), m.PacketsPerSecond.ToString("N0", CultureInfo.InvariantCulture));
            }
            members.Caption($"{PlainDemoView.Seconds(s.Elapsed)}: sent {s.Sent:N0}, accepted {s.Accepted:N0}, policy drops {s.PolicyDrops:N0}, out-of-state {s.OutOfState:N0}, unanswered {s.Unanswered:N0}");
        }
        _layout.Rows.Clear();
        _layout.AddRow(members);
        foreach (var e in _events)
            _layout.AddRow(new Markup(e));
        _context?.Refresh();
    }
}
