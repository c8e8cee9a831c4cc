using System.CommandLine;

namespace VslsActors.Cli.Demo;

/// <summary><c>vsls demo</c>: the whole job on one machine (see <see cref="DemoRunner"/>).</summary>
internal static class DemoCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var d = new DemoOptions();
        var duration = VslsCli.DurationOption("--duration", "How long traffic runs", d.Duration);
        var failoverAt = VslsCli.DurationOption("--failover-at", "When one member is killed (SIGKILL), from the start of traffic", d.FailoverAt);
        var members = new Option<int>("--members") { Description = "Member processes to start (the topology's first N)", DefaultValueFactory = _ => d.Members }.Within(1, 64);
        var noFailover = new Option<bool>("--no-failover") { Description = "Do not kill a member" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON on stdout (progress goes to stderr)" };
        var rate = new Option<int>("--rate") { Description = "Target packets per second", DefaultValueFactory = _ => d.Rate, HelpName = "pps" }.Within(1, 10_000_000);
        var connections = new Option<int>("--connections") { Description = "Live flows kept by the traffic generator", DefaultValueFactory = _ => d.Connections }.Within(1, 10_000_000);
        var db = new Option<string>("--db") { Description = "SQLite file (default: a new file in a temporary directory)", HelpName = "file" };
        var topology = new Option<string>("--topology") { Description = "Topology file (default: the sample topology)", HelpName = "file" };
        var seed = new Option<int>("--seed") { Description = "Traffic generator seed", DefaultValueFactory = _ => d.Seed };

        var command = new Command("demo", "Start members as local processes on one SQLite file, drive generated traffic, kill one member part-way, and report the failover.")
        {
            duration, failoverAt, members, noFailover, json, rate, connections, db, topology, seed,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new DemoOptions
            {
                Duration = parse.GetValue(duration),
                FailoverAt = parse.GetValue(failoverAt),
                Members = parse.GetValue(members),
                NoFailover = parse.GetValue(noFailover),
                Json = parse.GetValue(json),
                Rate = parse.GetValue(rate),
                Connections = parse.GetValue(connections),
                Db = parse.GetValue(db),
                Topology = parse.GetValue(topology),
                Seed = parse.GetValue(seed),
            };
            options.Validate();
            return await VslsCli.ConsoleOutToErrorWhen(options.Json, error,
                () => new DemoRunner(options, output, error).RunAsync(cancellationToken)).ConfigureAwait(false);
        });
        return command;
    }
}
