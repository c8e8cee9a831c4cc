using System.CommandLine;
using System.Globalization;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Cli.Replay;

/// <summary><c>vsls replay FILE</c>: replays a capture through VSs (see <see cref="ReplayRunner"/> and <c>docs/replay.md</c>).</summary>
internal static class ReplayCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var file = new Argument<string>("FILE") { Description = "A pcap or pcapng capture" };
        var vsBy = new Option<VsMapping>("--vs-by") { Description = "How packets map to virtual systems: single (one VS), vlan (802.1Q id), subnet (destination, else source)", DefaultValueFactory = _ => VsMapping.Single };
        var topology = new Option<string>("--topology") { Description = "Topology file (needed by --vs-by vlan|subnet; with single, the VS's policy and timeouts come from it)", HelpName = "file" };
        var vs = new Option<int?>("--vs") { Description = "With --vs-by single and --topology: the VS id to use (default: the topology's only VS)", HelpName = "id" };
        var target = new Option<string>("--target") { Description = "Send to a running cluster's ingress (host:port[,...]) instead of the embedded member", HelpName = "host:port" };
        var embedded = new Option<bool>("--embedded") { Description = "Run the packets through an embedded member (the default)" };
        var speed = new Option<double?>("--speed")
        {
            Description = "Capture timing multiplied by a factor (1 = real time, 10 = ten times faster), or max (as fast as possible, the default)",
            HelpName = "factor|max",
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (string.Equals(text, "max", StringComparison.OrdinalIgnoreCase))
                    return null;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f > 0 && double.IsFinite(f))
                    return f;
                result.AddError($"--speed: '{text}' is neither a positive factor nor max");
                return null;
            },
        };
        var outFile = new Option<string>("--out") { Description = "Write the connection table as JSON lines (docs/connection-table.md)", HelpName = "file" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON on stdout (no progress)" };

        var command = new Command("replay", "Replay a pcap/pcapng capture through virtual systems and write the resulting connection table.")
        {
            file, vsBy, topology, vs, target, embedded, speed, outFile, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            IReplaySink Sink()
            {
                if (parse.GetValue(target) is not { } t)
                    return new EmbeddedReplaySink();
                if (parse.GetValue(embedded))
                    throw new ReplayException("--target and --embedded exclude each other");
                var targets = t.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                foreach (var one in targets)
                {
                    try
                    {
                        IngressClient.ParseTarget(one);
                    }
                    catch (ArgumentException e)
                    {
                        throw new ReplayException($"--target: {e.Message}");
                    }
                }
                return targets.Length > 0 ? new IngressReplaySink(targets) : throw new ReplayException("--target: no host:port given");
            }
            var options = new ReplayOptions
            {
                File = parse.GetValue(file)!,
                VsBy = parse.GetValue(vsBy),
                Topology = parse.GetValue(topology),
                Vs = parse.GetValue(vs),
                Speed = parse.GetValue(speed),
                Out = parse.GetValue(outFile),
                Json = parse.GetValue(json),
            };
            return await VslsCli.ConsoleOutToErrorWhen(options.Json, error,
                () => ReplayRunner.RunAsync(options, Sink(), output, error, cancellationToken)).ConfigureAwait(false);
        });
        return command;
    }
}
