using VslsActors.Domain;

namespace VslsActors.MultiNode.Harness;

/// <summary>
/// How one member process is launched, beyond its name and ports: the address it binds and advertises
/// (remoting, ingress and API alike) and an optional command prefix. The network-namespace lab uses
/// both: <c>["ip", "netns", "exec", "vsls-…-m1"]</c> and the member's address inside its namespace.
/// </summary>
/// <param name="Host">Address the member binds and advertises, and where the harness reaches it.</param>
/// <param name="CommandPrefix">Arguments put before <c>dotnet vsls.dll node …</c> (empty = none).</param>
public sealed record MemberLaunch(string Host, IReadOnlyList<string> CommandPrefix)
{
    /// <summary>Loopback, no prefix: the default.</summary>
    public static MemberLaunch Loopback { get; } = new("127.0.0.1", []);
}

/// <summary>What a <see cref="MultiNodeCluster"/> starts.</summary>
public sealed record MultiNodeOptions
{
    /// <summary>Name of the run (a spec's name): used for its folder and in every log line.</summary>
    public required string Name { get; init; }

    /// <summary>Members to start, in order; the first two are the seeds. Default member-1..member-3.</summary>
    public IReadOnlyList<MemberName> Members { get; init; } = [new("member-1"), new("member-2"), new("member-3")];

    /// <summary>Topology file text; default <see cref="HarnessTopology.Text"/> over <see cref="Members"/>.</summary>
    public string? TopologyText { get; init; }

    /// <summary>
    /// PostgreSQL connection string (a fresh schema is made per run, see <see cref="MultiNodeCluster"/>);
    /// null = one SQLite file in the run folder.
    /// </summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>Per-member launch (address, command prefix); null = <see cref="MemberLaunch.Loopback"/> for every member.</summary>
    public Func<MemberName, MemberLaunch>? Launch { get; init; }

    /// <summary>Extra HOCON given to every member with <c>--config</c> (null = none).</summary>
    public string? ExtraHocon { get; init; }

    /// <summary>Where run folders go; default <c>/tmp/vsls-multinode/runs</c>.</summary>
    public string? RunsRoot { get; init; }

    /// <summary>How long to wait for the cluster to form and every VS to run where placement says.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Checker sampling interval per member.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Where story lines go besides the run's story file (a test's output helper, the console).</summary>
    public Action<string>? Output { get; init; }
}
