namespace VslsActors.Cli.Replay;

/// <summary>A problem with <c>vsls replay</c>'s input or its run, reported as one line (exit 2).</summary>
public sealed class ReplayException(string message) : Exception(message);

/// <summary>How <c>vsls replay</c> maps packets to virtual systems (<c>--vs-by</c>).</summary>
public enum VsMapping
{
    /// <summary>Every packet into one VS (accept-all unless <c>--topology</c> names the VS).</summary>
    Single,
    /// <summary>By the frame's 802.1Q VLAN id, through the topology's <c>vlans</c>.</summary>
    Vlan,
    /// <summary>By the longest topology subnet containing the destination, else the source.</summary>
    Subnet,
}

/// <summary>Options of <c>vsls replay</c>.</summary>
public sealed record ReplayOptions
{
    /// <summary>The pcap or pcapng file.</summary>
    public required string File { get; init; }

    /// <summary>How packets map to VSs.</summary>
    public VsMapping VsBy { get; init; } = VsMapping.Single;

    /// <summary>Topology file (required for <see cref="VsMapping.Vlan"/> and <see cref="VsMapping.Subnet"/>).</summary>
    public string? Topology { get; init; }

    /// <summary>With <see cref="VsMapping.Single"/> and a topology: the VS whose configuration is used.</summary>
    public int? Vs { get; init; }

    /// <summary>Replay at capture timing multiplied by this factor (2 = twice as fast); null = as fast as possible.</summary>
    public double? Speed { get; init; }

    /// <summary>Connection table output (JSON lines), or null for none.</summary>
    public string? Out { get; init; }

    /// <summary>The report as JSON on stdout, no progress.</summary>
    public bool Json { get; init; }

    /// <summary>
    /// Threads that decode frames (<see cref="Traffic.Capture.ParallelCaptureDecoder"/>); null = one per core,
    /// 0 = decode on the replay's own thread. Not a command-line option: the benchmark and the tests
    /// set it to compare the two paths.
    /// </summary>
    public int? DecodeWorkers { get; init; }
}
