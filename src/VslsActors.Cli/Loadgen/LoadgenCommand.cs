using System.CommandLine;
using VslsActors.Domain;

namespace VslsActors.Cli.Loadgen;

/// <summary><c>vsls loadgen</c>: synthetic traffic into members' gRPC ingress (see <see cref="LoadgenRunner"/>).</summary>
internal static class LoadgenCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var d = new LoadgenOptions();
        var target = new Option<string>("--target") { Description = "Member ingress endpoints, host:port[,host:port...] (a stream moves to the next when its member dies)", HelpName = "list", Required = true };
        var rate = new Option<int>("--rate") { Description = "Packets per second offered in all (0 = as fast as the members take them)", DefaultValueFactory = _ => d.Rate, HelpName = "pps" }.Within(0, 100_000_000);
        var connections = new Option<int>("--connections") { Description = "Live flows kept by the traffic generators", DefaultValueFactory = _ => d.Connections }.Within(1, 10_000_000);
        var duration = VslsCli.DurationOption("--duration", "How long to send", d.Duration);
        var vs = new Option<string>("--vs") { Description = "Only these VS ids, e.g. 1,3 (default: every VS of the topology)", HelpName = "list" };
        var topology = new Option<string>("--topology") { Description = "Topology file the members run (default: the sample topology)", HelpName = "file" };
        var streams = new Option<int>("--streams") { Description = "gRPC streams, each on its own HTTP/2 connection", DefaultValueFactory = _ => d.Streams }.Within(1, 256);
        var batch = new Option<int>("--batch") { Description = "Records per batch", DefaultValueFactory = _ => d.Batch }.Within(1, 65_536);
        var pipeline = new Option<int>("--pipeline") { Description = "Batches a stream keeps outstanding", DefaultValueFactory = _ => d.Pipeline }.Within(1, 1024);
        var seed = new Option<int>("--seed") { Description = "Traffic generator seed", DefaultValueFactory = _ => d.Seed };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON on stdout (progress goes to stderr)" };

        var command = new Command("loadgen", "Send generated traffic to members' gRPC ingress; live progress on stderr, a report at the end.")
        {
            target, rate, connections, duration, vs, topology, streams, batch, pipeline, seed, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new LoadgenOptions
            {
                Targets = parse.GetValue(target)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Rate = parse.GetValue(rate),
                Connections = parse.GetValue(connections),
                Duration = parse.GetValue(duration),
                Vss = ParseVss(parse.GetValue(vs)),
                Topology = parse.GetValue(topology),
                Streams = parse.GetValue(streams),
                Batch = parse.GetValue(batch),
                Pipeline = parse.GetValue(pipeline),
                Seed = parse.GetValue(seed),
                Json = parse.GetValue(json),
            };
            if (options.Targets.Count == 0)
                throw new LoadgenException("--target: no ingress target given (host:port[,host:port...])");
            if (options.Duration <= TimeSpan.Zero)
                throw new LoadgenException("--duration must be > 0");
            return await new LoadgenRunner(options, output, error).RunAsync(cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static IReadOnlyList<VsId> ParseVss(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return [];
        var result = new List<VsId>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!VsId.TryParse(part, out var id))
                throw new LoadgenException($"--vs: '{part}' is not a VS id (an integer >= 1)");
            result.Add(id);
        }
        return result;
    }
}
