using System.CommandLine;
using System.CommandLine.Parsing;

namespace VslsActors.Cli.Ctl;

/// <summary>
/// <c>vsls ctl -e host:port [--token t] &lt;palette&gt; &lt;command&gt; [args] [--json]</c>, or without a
/// command an interactive shell (<see cref="CtlShell"/>). Exit codes: 0 done, 1 failed (unreachable,
/// token refused, conflict), 2 bad input (unknown command, VS or member, malformed list, rejected change).
/// </summary>
internal static class CtlCommand
{
    /// <summary>Default endpoint: the API's default address.</summary>
    public const string DefaultEndpoint = "127.0.0.1:5080";

    public static Command Build(TextWriter output, TextWriter error)
    {
        var endpoint = new Option<string>("--endpoint", "-e") { Description = $"A member's management API, host:port [VSLS_CTL_ENDPOINT; default {DefaultEndpoint}]", HelpName = "host:port" };
        var token = new Option<string>("--token") { Description = "API bearer token (the secret) [VSLS_CTL_TOKEN]", HelpName = "token" };
        var (json, filter, limit, path, depth) = LineOptions();
        var by = ByOption();
        var (pps, newCps, maxConns) = LimitOptions();
        var words = new Argument<string[]>("command") { Description = "palette command [arguments]; none = interactive shell", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("ctl", "Inspect and operate the cluster through a member's management API (palettes: cluster, actor, sharding, ha, vs, dist, member, conn, plan, audit).\n" + CtlCommands.HelpText())
        {
            endpoint, token, json, filter, limit, path, depth, by, words,
        };
        command.Options.Add(pps);
        command.Options.Add(newCps);
        command.Options.Add(maxConns);
        command.SetAction(async (parse, ct) =>
        {
            var e = parse.GetValue(endpoint) ?? Environment.GetEnvironmentVariable("VSLS_CTL_ENDPOINT") ?? DefaultEndpoint;
            var t = parse.GetValue(token) ?? Environment.GetEnvironmentVariable("VSLS_CTL_TOKEN");
            using var client = new CtlClient(e, t);
            var given = parse.GetValue(words) ?? [];
            if (given.Length == 0)
            {
                var interactive = !Console.IsInputRedirected;
                // At a terminal, lines are read key by key (tab completion, arrow-key history); piped, as plain lines.
                var input = interactive ? new CompletingConsoleReader() : Console.In;
                return await CtlShell.RunAsync(client, input, output, error, interactive, ct).ConfigureAwait(false);
            }
            var flags = new CtlFlags(parse.GetValue(json), parse.GetValue(filter), parse.GetValue(limit), parse.GetValue(path), parse.GetValue(depth))
            {
                PacketsPerSecond = parse.GetValue(pps), NewConnectionsPerSecond = parse.GetValue(newCps), MaxConnections = parse.GetValue(maxConns), By = parse.GetValue(by),
            };
            return await RunOneAsync(client, given, flags, output, error, ct).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>The options a command line may carry in one-shot form and in the shell alike.</summary>
    public static (Option<bool> Json, Option<string> Filter, Option<int?> Limit, Option<string> Path, Option<int?> Depth) LineOptions() =>
    (
        new Option<bool>("--json") { Description = "JSON output (JSON lines for conn list)" },
        new Option<string>("--filter") { Description = "Connection filter, e.g. \"proto == tcp and resp_p == 443\" (conn list)", HelpName = "expr" },
        new Option<int?>("--limit") { Description = "Most rows to show (conn list, audit tail)", HelpName = "n" },
        new Option<string>("--path") { Description = "Actor path (actor hierarchy; default /user)", HelpName = "path" },
        new Option<int?>("--depth") { Description = "Levels below the path (actor hierarchy; default 3)", HelpName = "n" }
    );

    /// <summary><c>--by weight|load</c> (dist equal, dist advise); separate from <see cref="LineOptions"/> so adding it changed no caller.</summary>
    public static Option<string> ByOption() =>
        new("--by") { Description = "What to balance: configured weight (default) or load measured over the last 10 s (dist equal, dist advise)", HelpName = "weight|load" };

    /// <summary>The limit options of <c>vs limits</c> (one-shot form and shell alike); values as typed, checked by the command.</summary>
    public static (Option<string> PacketsPerSecond, Option<string> NewConnectionsPerSecond, Option<string> MaxConnections) LimitOptions() =>
    (
        new Option<string>("--pps") { Description = "Packets/s limit of the VS, or off (vs limits)", HelpName = "n|off" },
        new Option<string>("--new-cps") { Description = "New-connections/s limit of the VS, or off (vs limits)", HelpName = "n|off" },
        new Option<string>("--max-conns") { Description = "Connection-table limit of the VS (vs limits)", HelpName = "n" }
    );

    /// <summary>Runs one command; prints a failure as one line on <paramref name="error"/>.</summary>
    public static async Task<int> RunOneAsync(CtlClient client, IReadOnlyList<string> words, CtlFlags flags, TextWriter output, TextWriter error, CancellationToken ct)
    {
        try
        {
            return await CtlCommands.RunAsync(client, words, flags, output, ct).ConfigureAwait(false);
        }
        catch (CtlException e)
        {
            await error.WriteLineAsync($"vsls ctl: {e.Message}").ConfigureAwait(false);
            return e.ExitCode;
        }
    }
}

/// <summary>
/// The interactive form of <c>vsls ctl</c>: reads command lines from a reader with a prompt, runs each
/// as the one-shot form would, keeps a history in memory (<c>history</c>), and ends at <c>exit</c>,
/// <c>quit</c> or end of input. Works with piped input (no prompt then), so it is testable.
/// Returns the exit code of the last failed command, or 0.
/// </summary>
internal static class CtlShell
{
    /// <summary>Words the shell knows besides the commands.</summary>
    private static readonly string[] ShellWords = ["help", "history", "exit", "quit"];

    /// <summary>
    /// Completions of the last word of <paramref name="line"/>: palettes (and shell words) for the first
    /// word, that palette's commands for the second, nothing after. Each is the whole line completed.
    /// </summary>
    public static IReadOnlyList<string> Complete(string line)
    {
        var words = line.Split(' ');
        var prefix = words[^1];
        var head = string.Join(' ', words[..^1]);
        IEnumerable<string> candidates = words.Length switch
        {
            1 => CtlCommands.All.Select(e => e.Palette).Distinct().Concat(ShellWords),
            2 => CtlCommands.All.Where(e => e.Palette == words[0]).Select(e => e.Name),
            _ => [],
        };
        return candidates.Where(c => c.StartsWith(prefix, StringComparison.Ordinal))
            .Select(c => (head.Length > 0 ? head + " " : "") + c + " ")
            .ToArray();
    }

    public static async Task<int> RunAsync(CtlClient client, TextReader input, TextWriter output, TextWriter error, bool interactive, CancellationToken ct)
    {
        var history = new List<string>();
        var last = 0;
        if (interactive)
            await output.WriteLineAsync($"vsls ctl on {client.Endpoint}: 'help' lists the commands, 'exit' leaves.").ConfigureAwait(false);
        var (json, filter, limit, path, depth) = CtlCommand.LineOptions();
        var by = CtlCommand.ByOption();
        var (pps, newCps, maxConns) = CtlCommand.LimitOptions();
        var words = new Argument<string[]>("command") { Arity = ArgumentArity.ZeroOrMore };
        var line = new RootCommand { json, filter, limit, path, depth, by, words };
        line.Options.Add(pps);
        line.Options.Add(newCps);
        line.Options.Add(maxConns);
        while (!ct.IsCancellationRequested)
        {
            if (interactive)
            {
                await output.WriteAsync("vsls> ").ConfigureAwait(false);
                await output.FlushAsync(ct).ConfigureAwait(false);
            }
            var text = await input.ReadLineAsync(ct).ConfigureAwait(false);
            if (text is null)
                break;
            text = text.Trim();
            if (text.Length == 0 || text.StartsWith('#'))
                continue;
            if (text is "exit" or "quit")
                break;
            if (text == "history")
            {
                for (var i = 0; i < history.Count; i++)
                    await output.WriteLineAsync($"{i + 1,4}  {history[i]}").ConfigureAwait(false);
                continue;
            }
            history.Add(text);
            var parse = line.Parse(CommandLineParser.SplitCommandLine(text).ToArray());
            if (parse.Errors.Count > 0)
            {
                await error.WriteLineAsync("vsls ctl: " + string.Join("; ", parse.Errors.Select(e => e.Message))).ConfigureAwait(false);
                last = CtlClient.BadInput;
                continue;
            }
            var flags = new CtlFlags(parse.GetValue(json), parse.GetValue(filter), parse.GetValue(limit), parse.GetValue(path), parse.GetValue(depth))
            {
                PacketsPerSecond = parse.GetValue(pps), NewConnectionsPerSecond = parse.GetValue(newCps), MaxConnections = parse.GetValue(maxConns), By = parse.GetValue(by),
            };
            var code = await CtlCommand.RunOneAsync(client, parse.GetValue(words) ?? [], flags, output, error, ct).ConfigureAwait(false);
            if (code != 0)
                last = code;
        }
        return last;
    }
}

/// <summary>
/// Reads lines from the terminal key by key: Tab completes (<see cref="CtlShell.Complete"/>; with
/// several candidates it shows them), Up/Down walk this session's lines, Backspace deletes, Enter ends
/// the line, Ctrl+D on an empty line ends the input. Used only when stdin is a terminal.
/// </summary>
internal sealed class CompletingConsoleReader : TextReader
{
    private readonly List<string> _history = [];

    public override string? ReadLine()
    {
        var line = new System.Text.StringBuilder();
        var position = _history.Count;
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.WriteLine();
                    var text = line.ToString();
                    if (text.Trim().Length > 0)
                        _history.Add(text);
                    return text;
                case ConsoleKey.Tab:
                    var options = CtlShell.Complete(line.ToString());
                    if (options.Count == 1)
                        Replace(line, options[0]);
                    else if (options.Count > 1)
                    {
                        Console.WriteLine();
                        Console.WriteLine(string.Join("  ", options.Select(o => o.TrimEnd().Split(' ')[^1])));
                        Console.Write("vsls> " + line);
                    }
                    break;
                case ConsoleKey.Backspace when line.Length > 0:
                    line.Length--;
                    Console.Write("\b \b");
                    break;
                case ConsoleKey.UpArrow when position > 0:
                    Replace(line, _history[--position]);
                    break;
                case ConsoleKey.DownArrow when position < _history.Count:
                    position++;
                    Replace(line, position < _history.Count ? _history[position] : "");
                    break;
                case ConsoleKey.D when key.Modifiers.HasFlag(ConsoleModifiers.Control) && line.Length == 0:
                    Console.WriteLine();
                    return null;
                default:
                    if (!char.IsControl(key.KeyChar))
                    {
                        line.Append(key.KeyChar);
                        Console.Write(key.KeyChar);
                    }
                    break;
            }
        }
    }

    public override Task<string?> ReadLineAsync() => Task.FromResult(ReadLine());

    public override ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) => ValueTask.FromResult(ReadLine());

    private static void Replace(System.Text.StringBuilder line, string text)
    {
        Console.Write(new string('\b', line.Length) + new string(' ', line.Length) + new string('\b', line.Length) + text);
        line.Clear().Append(text);
    }
}
