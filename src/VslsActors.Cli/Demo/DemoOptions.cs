namespace VslsActors.Cli.Demo;

/// <summary>The demo cannot run (bad options, members that do not start); the message is one line.</summary>
public sealed class DemoException(string message) : Exception(message);

/// <summary>Options of <c>vsls demo</c>.</summary>
public sealed record DemoOptions
{
    /// <summary>How long traffic runs.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>When (from the start of traffic) one member is killed with SIGKILL.</summary>
    public TimeSpan FailoverAt { get; init; } = TimeSpan.FromSeconds(12);

    /// <summary>How many member processes to start (the topology's first N members).</summary>
    public int Members { get; init; } = 3;

    /// <summary>Run without killing a member.</summary>
    public bool NoFailover { get; init; }

    /// <summary>Print only the JSON report on stdout (progress goes to stderr as plain lines).</summary>
    public bool Json { get; init; }

    /// <summary>Target packets per second over all VSs.</summary>
    public int Rate { get; init; } = 20_000;

    /// <summary>Live flows kept by the generator.</summary>
    public int Connections { get; init; } = 2_000;

    /// <summary>SQLite file (default: a new file in the demo's temporary directory).</summary>
    public string? Db { get; init; }

    /// <summary>Topology file (default: the sample shipped with vsls).</summary>
    public string? Topology { get; init; }

    /// <summary>Traffic generator seed.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws <see cref="DemoException"/> for options that contradict each other.</summary>
    public void Validate()
    {
        if (Duration <= TimeSpan.Zero)
            throw new DemoException("--duration must be > 0");
        if (!NoFailover && Members < 2)
            throw new DemoException("a failover needs at least 2 members (use --members 2 or more, or --no-failover)");
        if (!NoFailover && (FailoverAt <= TimeSpan.Zero || FailoverAt >= Duration))
            throw new DemoException($"--failover-at ({FailoverAt.TotalSeconds:0.###}s) must be after the start and before --duration ({Duration.TotalSeconds:0.###}s)");
    }
}
