namespace VslsActors.Cli.Tests.Replay;

/// <summary>
/// The replay tests run on their own, after the parallel ones: they start actor systems, a vsls
/// process and a tshark capture, and running them beside the demo's end-to-end tests (three member
/// processes with timed asks) starved those on a two-core machine (packets left unanswered).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReplayTestCollection
{
    public const string Name = "replay (not in parallel)";
}
