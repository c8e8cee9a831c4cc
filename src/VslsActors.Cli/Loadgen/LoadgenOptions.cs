using VslsActors.Domain;

namespace VslsActors.Cli.Loadgen;

/// <summary>A <c>vsls loadgen</c> setting that cannot work (one line, exit code 2).</summary>
public sealed class LoadgenException(string message) : Exception(message);

/// <summary>Settings of <c>vsls loadgen</c>.</summary>
public sealed record LoadgenOptions
{
    /// <summary>Member ingress endpoints, <c>host:port</c>; streams start spread over them and fail over in order.</summary>
    public IReadOnlyList<string> Targets { get; init; } = [];

    /// <summary>Packets per second to offer in all; 0 = as fast as the members take them.</summary>
    public int Rate { get; init; }

    /// <summary>Live flows kept by the traffic generators (in all).</summary>
    public int Connections { get; init; } = 10_000;

    /// <summary>How long to send.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Only these VSs (empty = every VS of the topology).</summary>
    public IReadOnlyList<VsId> Vss { get; init; } = [];

    /// <summary>Topology file (default: the sample topology), the same the members run.</summary>
    public string? Topology { get; init; }

    /// <summary>gRPC streams (each its own HTTP/2 connection and generator).</summary>
    public int Streams { get; init; } = 2;

    /// <summary>Records per batch.</summary>
    public int Batch { get; init; } = 4096;

    /// <summary>Batches one stream keeps outstanding.</summary>
    public int Pipeline { get; init; } = 8;

    /// <summary>Generator seed (stream i uses seed + i).</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Print the report as JSON on stdout.</summary>
    public bool Json { get; init; }
}
