using CsCheck;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Policy;
using VslsActors.Domain.VirtualSystems;
using static VslsActors.Domain.Tests.Policy.PolicyBuilders;

namespace VslsActors.Domain.Tests.VirtualSystems;

public sealed class TokenBucketTests
{
    private const long Second = TimeSpan.TicksPerSecond;
    private const long T0 = 639_000_000_000_000_000; // a 2026 UTC tick count: the bucket runs on real clocks

    /// <summary>Requests: (gap since the previous one in ticks, items wanted).</summary>
    private static readonly Gen<(int Rate, int Burst, (long Gap, int Wanted)[] Requests)> GenRun =
        Gen.Select(
            Gen.Int[1, 5_000],
            Gen.Int[1, 5_000],
            Gen.Select(
                Gen.Frequency((3, Gen.Long[0, 2_000]), (3, Gen.Long[0, Second / 10]), (1, Gen.Long[0, 3 * Second])),
                Gen.Frequency((3, Gen.Int[1, 4]), (2, Gen.Int[1, 300]))).Array[1, 200]);

    [Fact]
    public void Over_any_window_the_admitted_count_never_exceeds_rate_times_window_plus_burst()
    {
        GenRun.Sample(run =>
        {
            var bucket = new TokenBucket(run.Rate, run.Burst, T0);
            var times = new long[run.Requests.Length];
            var granted = new long[run.Requests.Length];
            var now = T0;
            for (var i = 0; i < run.Requests.Length; i++)
            {
                now += run.Requests[i].Gap;
                times[i] = now;
                granted[i] = bucket.TakeUpTo(run.Requests[i].Wanted, now);
                if (granted[i] < 0 || granted[i] > run.Requests[i].Wanted)
                    return false;
            }
            // Every window [times[a], times[b]]: admitted × 1 s ≤ rate × window + burst × 1 s (integers, exact).
            for (var a = 0; a < times.Length; a++)
            {
                long admitted = 0;
                for (var b = a; b < times.Length; b++)
                {
                    admitted += granted[b];
                    if (admitted * Second > run.Rate * (times[b] - times[a]) + run.Burst * Second)
                        return false;
                }
            }
            return true;
        });
    }

    [Fact]
    public void A_full_bucket_grants_its_burst_at_once_then_the_rate()
    {
        var bucket = new TokenBucket(ratePerSecond: 100, burst: 50, T0);
        Assert.Equal(50, bucket.TakeUpTo(80, T0));
        Assert.Equal(0, bucket.TakeUpTo(1, T0));
        // 100/s: one token every 10 ms.
        Assert.Equal(1, bucket.TakeUpTo(5, T0 + Second / 100));
        Assert.Equal(10, bucket.TakeUpTo(1000, T0 + Second / 100 + Second / 10));
        // A long idle refills to the burst, not beyond.
        Assert.Equal(50, bucket.TakeUpTo(1000, T0 + 3600 * Second));
    }

    [Fact]
    public void A_demand_within_the_rate_is_always_admitted()
    {
        var bucket = TokenBucket.ForLimit(1000, T0);
        var now = T0;
        for (var i = 0; i < 10_000; i++)
        {
            now += Second / 1000; // exactly the rate
            Assert.True(bucket.TryTake(now));
        }
    }

    [Fact]
    public void A_clock_going_backwards_grants_nothing_extra()
    {
        var bucket = new TokenBucket(ratePerSecond: 10, burst: 10, T0);
        Assert.Equal(10, bucket.TakeUpTo(10, T0 + Second));
        Assert.Equal(0, bucket.TakeUpTo(10, T0));
        // Back to the latest time seen: still nothing; a tenth of a second after it: one.
        Assert.Equal(0, bucket.TakeUpTo(10, T0 + Second));
        Assert.Equal(1, bucket.TakeUpTo(10, T0 + Second + Second / 10));
    }

    [Fact]
    public void The_default_bucket_is_unlimited_and_a_limit_has_a_burst_of_one_second()
    {
        var unlimited = TokenBucket.ForLimit(null, T0);
        Assert.False(unlimited.IsLimited);
        Assert.Equal(1_000_000, unlimited.TakeUpTo(1_000_000, T0));
        var limited = TokenBucket.ForLimit(2500, T0);
        Assert.True(limited.IsLimited);
        Assert.Equal(2500, limited.Burst);
        Assert.Equal(2500, limited.RatePerSecond);
    }

    [Fact]
    public void The_largest_rate_and_burst_do_not_overflow_after_a_long_idle()
    {
        var bucket = new TokenBucket(TokenBucket.MaxRate, TokenBucket.MaxRate, 0);
        Assert.Equal(TokenBucket.MaxRate, bucket.TakeUpTo(int.MaxValue, 0));
        Assert.Equal(TokenBucket.MaxRate, bucket.TakeUpTo(int.MaxValue, long.MaxValue / 2));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(-5, 1)]
    [InlineData(10, 0)]
    [InlineData(TokenBucket.MaxRate + 1, 1)]
    public void A_rate_or_burst_out_of_range_is_refused(int rate, int burst)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenBucket(rate, burst, T0));
    }
}

public sealed class AdmissionRateTests
{
    private static readonly CompiledPolicy Policy = PolicyCompiler.Compile(PolicyOf(
        Rule("web", service: Services(Tcp(80))),
        Rule("no-ssh", service: Services(Tcp(22)), action: RuleAction.Drop)));

    private static TimedPacket Packet(ushort port, TcpFlags flags) =>
        new(1000, PacketHeader.Tcp(A("10.0.0.1"), 40000, A("10.0.0.2"), port, flags, 60));

    private const long Now = 639_000_000_000_000_000;

    [Fact]
    public void Openers_beyond_the_new_connection_rate_are_refused_as_over_the_rate()
    {
        var bucket = new TokenBucket(ratePerSecond: 10, burst: 2, Now);
        Assert.Equal(AdmissionOutcome.Open, Admission.Decide(Packet(80, TcpFlags.Syn), Policy, 0, 100, ref bucket, Now).Outcome);
        Assert.Equal(AdmissionOutcome.Open, Admission.Decide(Packet(80, TcpFlags.Syn), Policy, 1, 100, ref bucket, Now).Outcome);
        var third = Admission.Decide(Packet(80, TcpFlags.Syn), Policy, 2, 100, ref bucket, Now);
        Assert.Equal(AdmissionOutcome.OverNewConnectionRate, third.Outcome);
        Assert.False(third.Opens);
        Assert.Equal("web", third.Rule.RuleName);
    }

    [Fact]
    public void Packets_that_would_not_open_take_no_new_connection_token()
    {
        var bucket = new TokenBucket(ratePerSecond: 1, burst: 1, Now);
        // Out of state, policy drop and a full table all leave the one token in the bucket.
        Assert.Equal(AdmissionOutcome.OutOfState, Admission.Decide(Packet(80, TcpFlags.Ack), Policy, 0, 100, ref bucket, Now).Outcome);
        Assert.Equal(AdmissionOutcome.PolicyDrop, Admission.Decide(Packet(22, TcpFlags.Syn), Policy, 0, 100, ref bucket, Now).Outcome);
        Assert.Equal(AdmissionOutcome.OverLimit, Admission.Decide(Packet(80, TcpFlags.Syn), Policy, 100, 100, ref bucket, Now).Outcome);
        Assert.Equal(AdmissionOutcome.Open, Admission.Decide(Packet(80, TcpFlags.Syn), Policy, 0, 100, ref bucket, Now).Outcome);
    }
}
