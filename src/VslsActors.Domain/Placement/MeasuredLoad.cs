using System.Collections.Immutable;

namespace VslsActors.Domain.Placement;

/// <summary>
/// A VS's own traffic over its last few seconds: a ring of samples of its packet total and
/// connection count, one per sweep tick of the VS actor. Lives in the VS actor (the one place a
/// VS's packets are counted), so every member that asks the VS for its status gets the same
/// figures — no member keeps a sampler of its own whose window would start at another time.
/// </summary>
/// <remarks>Not thread-safe: owned by one actor.</remarks>
public sealed class LoadWindow
{
    /// <summary>The window <c>dist equal --by load</c> measures over by default: 10 s.</summary>
    public static TimeSpan DefaultLength { get; } = TimeSpan.FromSeconds(10);

    private readonly long _lengthTicks;
    private readonly (long AtTicks, long Packets, int Connections)[] _ring;
    private int _next;
    private int _count;

    /// <summary>A window of <paramref name="length"/> sampled every <paramref name="interval"/>.</summary>
    /// <exception cref="ArgumentException">A length or interval ≤ 0, or an interval longer than the length.</exception>
    public LoadWindow(TimeSpan length, TimeSpan interval)
    {
        if (length <= TimeSpan.Zero || interval <= TimeSpan.Zero || interval > length)
            throw new ArgumentException($"a load window of {length} sampled every {interval} is not possible (both > 0, interval ≤ length)");
        _lengthTicks = length.Ticks;
        // One sample more than intervals fit, so the oldest kept sample is about one window old.
        _ring = new (long, long, int)[(int)Math.Min(3600, length.Ticks / interval.Ticks) + 1];
    }

    /// <summary>Adds a sample: UTC ticks now, the VS's packet total so far and its connection count.</summary>
    public void Record(long atTicks, long packetsTotal, int connections)
    {
        _ring[_next] = (atTicks, packetsTotal, connections);
        _next = (_next + 1) % _ring.Length;
        _count = Math.Min(_count + 1, _ring.Length);
    }

    /// <summary>
    /// Packets and mean connections over the samples no older than the window before the newest,
    /// or null when fewer than two samples span a positive time (a VS just started or moved here).
    /// </summary>
    public LoadFigures? Current()
    {
        if (_count < 2)
            return null;
        var newest = _ring[(_next - 1 + _ring.Length) % _ring.Length];
        var oldestIndex = -1;
        long connectionSum = 0;
        var samples = 0;
        for (var k = _count; k >= 1; k--)
        {
            var i = (_next - k + _ring.Length) % _ring.Length;
            if (newest.AtTicks - _ring[i].AtTicks > _lengthTicks)
                continue;
            if (oldestIndex < 0)
                oldestIndex = i;
            connectionSum += _ring[i].Connections;
            samples++;
        }
        var oldest = _ring[oldestIndex];
        var ticks = newest.AtTicks - oldest.AtTicks;
        // A total that went down means the counters restarted: no window across that.
        if (ticks <= 0 || newest.Packets < oldest.Packets)
            return null;
        return new LoadFigures(ticks, newest.Packets - oldest.Packets, (long)Math.Round((double)connectionSum / samples));
    }
}

/// <summary>What a <see cref="LoadWindow"/> measured.</summary>
/// <param name="WindowTicks">The time between the oldest and newest sample used (ticks, &gt; 0).</param>
/// <param name="Packets">Packets the VS counted in that time (every verdict).</param>
/// <param name="MeanConnections">Its connection count averaged over those samples, rounded.</param>
public sealed record LoadFigures(long WindowTicks, long Packets, long MeanConnections)
{
    /// <summary>Packets per second over the window.</summary>
    public double PacketsPerSecond => Packets / TimeSpan.FromTicks(WindowTicks).TotalSeconds;
}

/// <summary>One VS's measured traffic, as the management API reads it from the VS's status.</summary>
/// <param name="Vs">The virtual system.</param>
/// <param name="PacketsPerSecond">Packets/s over its window; 0 when not measured yet.</param>
/// <param name="Connections">Mean connections over the window; 0 when not measured yet.</param>
public sealed record VsTraffic(VsId Vs, double PacketsPerSecond, double Connections);

/// <summary>
/// The load figure of <c>--by load</c>: one number per VS from its packets/s and connections, in
/// percent of the measured cluster load.
/// </summary>
/// <remarks>
/// <para><b>Formula.</b> load = 50 × pps / Σpps + 50 × connections / Σconnections: each half
/// is the VS's share of the cluster's packets/s and of its connections, so neither unit
/// dominates because its numbers are bigger, and the loads add up to 100 (before the floor).
/// When no VS holds a connection (stateless traffic) packets/s counts alone: 100 × pps / Σpps.</para>
/// <para><b>Floor.</b> A VS below <see cref="Floor"/> (0.5, half a percent) gets the floor, so
/// idle VSs still spread over the members instead of all landing on the least loaded one, and
/// <c>dist advise</c> can move them.</para>
/// <para><b>No traffic.</b> When Σpps is 0 there is nothing to balance by:
/// <see cref="TryCompute"/> says so rather than produce a plan from floors alone.</para>
/// </remarks>
public static class MeasuredLoad
{
    /// <summary>The least load a VS is given: half a percent of the measured cluster load.</summary>
    public const double Floor = 0.5;

    /// <summary>
    /// The load of every VS in <paramref name="traffic"/>, or null (with <paramref name="problem"/>)
    /// when no packet was measured in any VS's window.
    /// </summary>
    /// <exception cref="ArgumentException">A negative, NaN or infinite figure, or a VS listed twice.</exception>
    public static ImmutableDictionary<VsId, double>? TryCompute(IReadOnlyList<VsTraffic> traffic, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(traffic);
        double pps = 0, connections = 0;
        var seen = new HashSet<VsId>();
        foreach (var t in traffic)
        {
            if (!double.IsFinite(t.PacketsPerSecond) || t.PacketsPerSecond < 0 || !double.IsFinite(t.Connections) || t.Connections < 0)
                throw new ArgumentException($"virtual system {t.Vs} has traffic {t.PacketsPerSecond} packets/s, {t.Connections} connections; both are non-negative numbers", nameof(traffic));
            if (!seen.Add(t.Vs))
                throw new ArgumentException($"virtual system {t.Vs} is listed twice", nameof(traffic));
            pps += t.PacketsPerSecond;
            connections += t.Connections;
        }
        if (pps <= 0)
        {
            problem = "no traffic measured yet (every VS counted 0 packets in its load window); send traffic or use --by weight";
            return null;
        }
        var loads = ImmutableDictionary.CreateBuilder<VsId, double>();
        foreach (var t in traffic)
        {
            var load = connections > 0
                ? 50 * t.PacketsPerSecond / pps + 50 * t.Connections / connections
                : 100 * t.PacketsPerSecond / pps;
            // Rounded so that a plan does not depend on the last bits of a division (and reads well in the audit).
            loads[t.Vs] = Math.Max(Floor, Math.Round(load, 3));
        }
        problem = null;
        return loads.ToImmutable();
    }
}
