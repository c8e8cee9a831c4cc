using System.Runtime.CompilerServices;

namespace VslsActors.Domain.VirtualSystems;

/// <summary>
/// A token bucket for a per-VS rate limit (packets/s, new connections/s), as a pure value driven by
/// a clock the caller passes in (UTC ticks): it never reads the time itself, so it is exact and
/// testable. A bucket holds at most <see cref="Burst"/> tokens and refills at <see cref="RatePerSecond"/>
/// tokens per second; each admitted item takes one token. Hence, over any window of <c>w</c> seconds,
/// it admits at most <c>RatePerSecond × w + Burst</c> items (property-tested).
/// </summary>
/// <remarks>
/// <para>Arithmetic is integer, in "token-ticks" (one token = <see cref="TimeSpan.TicksPerSecond"/>
/// units, and one tick of elapsed time adds <see cref="RatePerSecond"/> units), so nothing is lost to
/// rounding and nothing drifts: the bound above holds exactly, not approximately.</para>
/// <para>A clock that goes backwards (a caller's clock adjusted) refills nothing and does not move the
/// bucket's notion of "now" back, so it can never grant extra tokens.</para>
/// <para>A mutable struct held in a field of its owner (the VS actor): taking tokens allocates nothing.
/// <c>default</c> is the unlimited bucket.</para>
/// </remarks>
public struct TokenBucket
{
    /// <summary>The largest rate (and burst) a bucket takes: keeps the token-tick arithmetic far from overflow.</summary>
    public const int MaxRate = 1_000_000_000;

    private const long UnitsPerToken = TimeSpan.TicksPerSecond;

    private long _rate;
    private long _capacity;
    private long _level;
    private long _lastTicks;

    /// <summary>A bucket that refills at <paramref name="ratePerSecond"/> and holds at most <paramref name="burst"/> tokens, full at <paramref name="nowTicks"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A rate or burst outside 1..<see cref="MaxRate"/>.</exception>
    public TokenBucket(int ratePerSecond, int burst, long nowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ratePerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ratePerSecond, MaxRate);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(burst, MaxRate);
        _rate = ratePerSecond;
        _capacity = burst * UnitsPerToken;
        _level = _capacity;
        _lastTicks = nowTicks;
    }

    /// <summary>
    /// The bucket for a limit of <paramref name="ratePerSecond"/> with the documented burst
    /// (<see cref="BurstOf"/>), or the unlimited bucket when <paramref name="ratePerSecond"/> is null.
    /// </summary>
    public static TokenBucket ForLimit(int? ratePerSecond, long nowTicks) =>
        ratePerSecond is { } rate ? new TokenBucket(rate, BurstOf(rate), nowTicks) : default;

    /// <summary>
    /// The burst a limit of <paramref name="ratePerSecond"/> allows: one second's worth. A VS that was
    /// quiet may send that many at once (ingress delivers packets in batches, so a burst of less than a
    /// batch would refuse traffic that is within its rate on average); sustained, it gets the rate.
    /// </summary>
    public static int BurstOf(int ratePerSecond) => Math.Max(1, ratePerSecond);

    /// <summary>Whether the bucket limits anything (false for <c>default</c>).</summary>
    public readonly bool IsLimited => _rate != 0;

    /// <summary>Tokens per second (0 when unlimited).</summary>
    public readonly long RatePerSecond => _rate;

    /// <summary>The most tokens the bucket holds (0 when unlimited).</summary>
    public readonly long Burst => _capacity / UnitsPerToken;

    /// <summary>
    /// Takes up to <paramref name="wanted"/> tokens at <paramref name="nowTicks"/> and returns how many
    /// it got (all of them when unlimited). The caller admits that many items and refuses the rest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int TakeUpTo(int wanted, long nowTicks)
    {
        if (_rate == 0 || wanted <= 0)
            return Math.Max(wanted, 0);
        Refill(nowTicks);
        var available = _level / UnitsPerToken;
        var granted = available >= wanted ? wanted : (int)available;
        _level -= granted * UnitsPerToken;
        return granted;
    }

    /// <summary>Takes one token at <paramref name="nowTicks"/>; false when the bucket is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryTake(long nowTicks) => TakeUpTo(1, nowTicks) == 1;

    private void Refill(long nowTicks)
    {
        var elapsed = nowTicks - _lastTicks;
        if (elapsed <= 0)
            return;
        _lastTicks = nowTicks;
        // Past this many ticks the bucket is full anyway; capping first keeps elapsed × rate from overflowing.
        var toFull = (_capacity - _level) / _rate + 1;
        _level = elapsed >= toFull ? _capacity : Math.Min(_capacity, _level + elapsed * _rate);
    }
}
