namespace VslsActors.Traffic;

/// <summary>
/// How <see cref="TrafficGenerator"/> shapes its traffic. The defaults give a mix that looks like a
/// gateway's: mostly accepted TCP sessions, some UDP and ping, about 5 % of flows the policies drop,
/// about 1 % stray packets with no connection, and a third of the accepted flows long-lived so that
/// established connections exist across a failover.
/// </summary>
public sealed record TrafficOptions
{
    /// <summary>Seed of the pseudo-random source: the same seed and the same calls give the same packets.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Flows kept live at once (every finished flow is replaced by a new one).</summary>
    public int Connections { get; init; } = 1000;

    /// <summary>Share of new flows aimed at something the VS's policy drops or rejects.</summary>
    public double PolicyDropFraction { get; init; } = 0.05;

    /// <summary>Share of new flows that are a lone TCP ACK for which no connection exists (out of state).</summary>
    public double OutOfStateFraction { get; init; } = 0.01;

    /// <summary>Share of accepted flows that live long (they keep exchanging data until their lifetime ends).</summary>
    public double LongLivedFraction { get; init; } = 0.3;

    /// <summary>Shortest lifetime of a long-lived flow.</summary>
    public TimeSpan LongLivedMin { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest lifetime of a long-lived flow.</summary>
    public TimeSpan LongLivedMax { get; init; } = TimeSpan.FromSeconds(180);

    /// <summary>Fewest data packets of a short flow.</summary>
    public int ShortDataPacketsMin { get; init; } = 2;

    /// <summary>Most data packets of a short flow.</summary>
    public int ShortDataPacketsMax { get; init; } = 24;

    /// <summary>Share of TCP sessions that end with a RST instead of the FIN exchange.</summary>
    public double RstFraction { get; init; } = 0.1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Connections < 1)
            throw new ArgumentException($"connections must be >= 1 (was {Connections})");
        CheckFraction(PolicyDropFraction, "policy drop fraction");
        CheckFraction(OutOfStateFraction, "out-of-state fraction");
        CheckFraction(LongLivedFraction, "long-lived fraction");
        CheckFraction(RstFraction, "RST fraction");
        if (PolicyDropFraction + OutOfStateFraction > 1)
            throw new ArgumentException("policy drop fraction + out-of-state fraction must be <= 1");
        if (LongLivedMin <= TimeSpan.Zero || LongLivedMax < LongLivedMin)
            throw new ArgumentException("long-lived lifetime must be > 0 with min <= max");
        if (ShortDataPacketsMin < 0 || ShortDataPacketsMax < ShortDataPacketsMin)
            throw new ArgumentException("short flow data packets must be >= 0 with min <= max");
    }

    private static void CheckFraction(double value, string name)
    {
        if (!(value >= 0 && value <= 1))
            throw new ArgumentException($"{name} must be between 0 and 1 (was {value})");
    }
}
