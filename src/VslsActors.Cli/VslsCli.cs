using System.CommandLine;
using System.CommandLine.Parsing;
using VslsActors.Cli.Demo;
using VslsActors.Cli.Loadgen;
using VslsActors.Domain.Configuration;
using VslsActors.Node;

namespace VslsActors.Cli;

/// <summary>
/// The <c>vsls</c> command line: <c>vsls node</c> runs a member, <c>vsls demo</c> runs the whole job
/// locally, <c>vsls loadgen</c> sends generated traffic to members' gRPC ingress. Errors are one line each, prefixed <c>vsls:</c>, with a non-zero exit code and never a
/// stack trace (unless <c>VSLS_DEBUG=1</c>): 2 for bad input (unknown option, bad value, bad file),
/// 1 for anything unexpected.
/// </summary>
public static class VslsCli
{
    /// <summary>Exit code of a command line that does not parse.</summary>
    public const int UsageError = 2;

    /// <summary>Parses and runs <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        try
        {
            var root = BuildRoot(output, error);
            var parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                foreach (var e in parse.Errors)
                    await error.WriteLineAsync($"vsls: {e.Message.ReplaceLineEndings(" ")}").ConfigureAwait(false);
                await error.WriteLineAsync($"(see vsls {CommandPath(parse)}--help)").ConfigureAwait(false);
                return UsageError;
            }
            var config = new InvocationConfiguration
            {
                Output = output,
                Error = error,
                EnableDefaultExceptionHandler = false,
                // The commands handle SIGTERM/SIGINT themselves (the member's host leaves the cluster
                // gracefully, the demo stops its members); System.CommandLine's 2 s cut-off would cut that short.
                ProcessTerminationTimeout = null,
            };
            return await parse.InvokeAsync(config, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("vsls: cancelled").ConfigureAwait(false);
            return 130;
        }
        catch (Exception e) when (e is ConfigException or NodeStartupException or DemoException or LoadgenException or Replay.ReplayException)
        {
            await error.WriteLineAsync($"vsls: {e.Message}").ConfigureAwait(false);
            return UsageError;
        }
        catch (Exception e)
        {
            var debug = Environment.GetEnvironmentVariable("VSLS_DEBUG") == "1";
            await error.WriteLineAsync(debug ? $"vsls: {e}" : $"vsls: {NodePreflight.OneLine(e)} (set VSLS_DEBUG=1 for details)").ConfigureAwait(false);
            return 1;
        }
    }

    private static string CommandPath(ParseResult parse)
    {
        var name = parse.CommandResult.Command.Name;
        return parse.CommandResult.Command is RootCommand ? "" : name + " ";
    }

    /// <summary>
    /// Runs <paramref name="run"/>; with <paramref name="json"/>, whatever a library writes to the
    /// console meanwhile (Akka's stdout logger writes during shutdown, after the log providers have
    /// stopped) goes to <paramref name="error"/>, so that stdout carries the JSON report and nothing else.
    /// </summary>
    internal static async Task<int> ConsoleOutToErrorWhen(bool json, TextWriter error, Func<Task<int>> run)
    {
        if (!json)
            return await run().ConfigureAwait(false);
        var console = Console.Out;
        Console.SetOut(error);
        try
        {
            return await run().ConfigureAwait(false);
        }
        finally
        {
            Console.SetOut(console);
        }
    }

    /// <summary>The command tree (exposed for tests).</summary>
    internal static RootCommand BuildRoot(TextWriter output, TextWriter error)
    {
        var root = new RootCommand("VslsActors: Virtual System Load Sharing on an Akka.NET cluster.");
        root.Subcommands.Add(NodeCommand.Build(output, error));
        root.Subcommands.Add(DemoCommand.Build(output, error));
        root.Subcommands.Add(LoadgenCommand.Build(output, error));
        root.Subcommands.Add(Replay.ReplayCommand.Build(output, error));
        root.Subcommands.Add(Ctl.CtlCommand.Build(output, error));
        return root;
    }

    /// <summary>An option whose value is a duration (<see cref="DurationParser"/>).</summary>
    internal static Option<TimeSpan> DurationOption(string name, string description, TimeSpan defaultValue) => new(name)
    {
        Description = description,
        HelpName = "duration",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (DurationParser.TryParse(text, out var value, out var problem))
                return value;
            result.AddError($"{name}: {problem}");
            return default;
        },
    };

    /// <summary>Adds a validator requiring the option's value to be within [min, max].</summary>
    internal static Option<int> Within(this Option<int> option, int min, int max)
    {
        option.Validators.Add(r =>
        {
            // A token that is not a number already has its own parse error; do not read it again.
            if (r.Tokens.Count == 0 || !int.TryParse(r.Tokens[^1].Value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var v))
                return;
            if (v < min || v > max)
                r.AddError($"{option.Name}: {v} is outside {min}-{max}");
        });
        return option;
    }
}
