using Akka.Configuration;

namespace VslsActors.Cluster.VirtualSystems;

/// <summary>
/// Runtime settings of VS actors, read from HOCON <c>vsls.virtual-system</c> (documented key by
/// key in <c>hocon/vsls.conf</c>). Per-VS settings (policy, timeouts, limit, sync delay) come
/// from the topology instead; these are the same for every VS of a member.
/// </summary>
public sealed record VirtualSystemSettings
{
    /// <summary>The values <c>hocon/vsls.conf</c> ships with.</summary>
    public static VirtualSystemSettings Default { get; } = new();

    /// <summary>Write a checkpoint after this many journaled deltas (<c>checkpoint-every-deltas</c>).</summary>
    public int CheckpointEveryDeltas { get; init; } = 5000;

    /// <summary>Write a checkpoint at least this often when deltas were journaled since the last one (<c>checkpoint-interval</c>).</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection actor idle this long hands its state to its VS and stops (<c>passivate-after</c>).</summary>
    public TimeSpan PassivateAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a VS expires passivated connections and syncs delayed-sync ones (<c>sweep-interval</c>).</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>First wait before retrying a failed journal write (<c>journal-retry-min</c>).</summary>
    public TimeSpan JournalRetryMin { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest wait between journal write retries (<c>journal-retry-max</c>).</summary>
    public TimeSpan JournalRetryMax { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Checkpoints kept per VS; older ones are deleted once a new one is saved (<c>checkpoints-kept</c>).</summary>
    public int CheckpointsKept { get; init; } = 2;

    /// <summary>
    /// Reads <c>vsls.virtual-system</c> from <paramref name="config"/>; a missing key keeps its
    /// <see cref="Default"/>. Throws <see cref="ArgumentException"/> naming the key for a value out of range.
    /// </summary>
    public static VirtualSystemSettings FromConfig(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var section = config.GetConfig("vsls.virtual-system");
        var d = Default;
        if (section is null || section.IsEmpty)
            return d;
        var settings = new VirtualSystemSettings
        {
            CheckpointEveryDeltas = section.GetInt("checkpoint-every-deltas", d.CheckpointEveryDeltas),
            CheckpointInterval = section.GetTimeSpan("checkpoint-interval", d.CheckpointInterval, allowInfinite: false),
            PassivateAfter = section.GetTimeSpan("passivate-after", d.PassivateAfter, allowInfinite: false),
            SweepInterval = section.GetTimeSpan("sweep-interval", d.SweepInterval, allowInfinite: false),
            JournalRetryMin = section.GetTimeSpan("journal-retry-min", d.JournalRetryMin, allowInfinite: false),
            JournalRetryMax = section.GetTimeSpan("journal-retry-max", d.JournalRetryMax, allowInfinite: false),
            CheckpointsKept = section.GetInt("checkpoints-kept", d.CheckpointsKept),
        };
        settings.Validate();
        return settings;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the HOCON key of the first value out of range.</summary>
    public void Validate()
    {
        static void Positive(TimeSpan value, string key)
        {
            if (value <= TimeSpan.Zero)
                throw new ArgumentException($"vsls.virtual-system.{key} must be a positive duration, not {value}");
        }
        if (CheckpointEveryDeltas < 1)
            throw new ArgumentException($"vsls.virtual-system.checkpoint-every-deltas must be >= 1, not {CheckpointEveryDeltas}");
        if (CheckpointsKept < 1)
            throw new ArgumentException($"vsls.virtual-system.checkpoints-kept must be >= 1, not {CheckpointsKept}");
        Positive(CheckpointInterval, "checkpoint-interval");
        Positive(PassivateAfter, "passivate-after");
        Positive(SweepInterval, "sweep-interval");
        Positive(JournalRetryMin, "journal-retry-min");
        Positive(JournalRetryMax, "journal-retry-max");
        if (JournalRetryMax < JournalRetryMin)
            throw new ArgumentException("vsls.virtual-system.journal-retry-max must be >= journal-retry-min");
    }
}
