using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Overload;

namespace VslsActors.Cluster.Overload;

/// <summary>
/// The overload state of this member (docs/degradation.md), shared like <see cref="Sharding.MemberFenceState"/>:
/// the overload monitor (<see cref="MemberOverloadMonitor"/>) writes it once per tick, every VS actor of the
/// member reads it with two volatile reads per packet batch — only when the batch has a packet that may open
/// a connection, never per established packet. It also holds the per-VS meters the VSs fill and the monitor
/// samples, and the last report of every member (this one's and the others', from topic <c>vsls-overload</c>).
/// </summary>
public sealed class MemberOverloadState : IExtension
{
    private volatile int _level;
    private volatile FrozenSet<VsId> _overShare = FrozenSet<VsId>.Empty;
    private readonly ConcurrentDictionary<VsId, VsLoadMeter> _meters = new();
    private readonly ConcurrentDictionary<string, MemberOverloadReport> _reports = new(StringComparer.Ordinal);
    private long _changes;
    private long _version;

    /// <summary>The level in effect.</summary>
    public OverloadLevel Level => (OverloadLevel)_level;

    /// <summary>The VSs over their share, as last published.</summary>
    public IReadOnlySet<VsId> OverShare => _overShare;

    /// <summary>Level changes since the member started (a test uses it to know nothing changed while it looked).</summary>
    public long Changes => Interlocked.Read(ref _changes);

    /// <summary>
    /// Bumped before and after each <see cref="Set"/> (odd while one is writing): when it is the same even
    /// number before and after something a test did, the level and the over-share set stayed the same all the while.
    /// </summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>
    /// Whether VS <paramref name="vs"/> must refuse new connections now: every VS at
    /// <see cref="OverloadLevel.ShedAllNew"/>, the over-share ones at <see cref="OverloadLevel.ShedOverShare"/>.
    /// </summary>
    public bool ShedsNewConnectionsOf(VsId vs)
    {
        var level = _level;
        return level >= (int)OverloadLevel.ShedAllNew || (level == (int)OverloadLevel.ShedOverShare && _overShare.Contains(vs));
    }

    /// <summary>Puts a level and over-share set in effect (the monitor calls this each tick).</summary>
    public void Set(OverloadLevel level, ImmutableArray<VsId> overShare)
    {
        Interlocked.Increment(ref _version);
        // The set first: a VS that reads the new level must not see the previous tick's set with it.
        _overShare = overShare.IsDefaultOrEmpty ? FrozenSet<VsId>.Empty : overShare.ToFrozenSet();
        if (_level != (int)level)
        {
            _level = (int)level;
            Interlocked.Increment(ref _changes);
        }
        Interlocked.Increment(ref _version);
    }

    /// <summary>A new meter for an incarnation of VS <paramref name="vs"/> that starts on this member (it replaces an older one).</summary>
    public VsLoadMeter Attach(VsId vs)
    {
        var meter = new VsLoadMeter(vs);
        _meters[vs] = meter;
        return meter;
    }

    /// <summary>Removes <paramref name="meter"/> when its VS stops (not a newer incarnation's).</summary>
    public void Detach(VsLoadMeter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _meters.TryRemove(new KeyValuePair<VsId, VsLoadMeter>(meter.Vs, meter));
    }

    /// <summary>The meters of the VSs running on this member now.</summary>
    public ICollection<VsLoadMeter> Meters => _meters.Values;

    /// <summary>Keeps <paramref name="report"/> as the newest of its member (an older one is ignored).</summary>
    public void Keep(MemberOverloadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _reports.AddOrUpdate(report.Member, report, (_, old) => old.AtTicks > report.AtTicks ? old : report);
    }

    /// <summary>How old a report may be and still describe its member (5 × <c>vsls.overload.report-every</c>; the monitor sets it).</summary>
    public TimeSpan ReportMaxAge { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The newest report of <paramref name="member"/> if it is younger than <see cref="ReportMaxAge"/> (else its state is unknown).</summary>
    public MemberOverloadReport? ReportOf(MemberName member) =>
        _reports.TryGetValue(member.Value, out var r) && DateTime.UtcNow.Ticks - r.AtTicks <= ReportMaxAge.Ticks ? r : null;

    /// <summary>The state of <paramref name="system"/>.</summary>
    public static MemberOverloadState Get(ActorSystem system) => system.WithExtension<MemberOverloadState, MemberOverloadStateProvider>();
}

/// <summary>Akka extension provider of <see cref="MemberOverloadState"/>.</summary>
public sealed class MemberOverloadStateProvider : ExtensionIdProvider<MemberOverloadState>
{
    /// <inheritdoc />
    public override MemberOverloadState CreateExtension(ExtendedActorSystem system) => new();
}

/// <summary>
/// What one VS actor tells the overload monitor, written by the VS (one writer) once per batch and read by
/// the monitor once per tick: new-connection attempts, the longest batch latency since the last read, and its queued work.
/// </summary>
public sealed class VsLoadMeter
{
    private long _attempts;
    private long _maxLatency;
    private long _queued;
    private long _attemptsSampled;

    internal VsLoadMeter(VsId vs) => Vs = vs;

    /// <summary>The VS measured.</summary>
    public VsId Vs { get; }

    /// <summary>
    /// One batch had <paramref name="count"/> new-connection attempts: first packets the policy accepted
    /// (opened, or refused by a limit or by shedding).
    /// </summary>
    public void AddNewConnectionAttempts(long count)
    {
        if (count != 0)
            Volatile.Write(ref _attempts, _attempts + count);
    }

    /// <summary>A batch taken at <paramref name="startedAt"/> (<see cref="Stopwatch.GetTimestamp"/>) was answered now.</summary>
    public void Answered(long startedAt)
    {
        var elapsed = Stopwatch.GetTimestamp() - startedAt;
        // The monitor resets the max with Exchange, so a compare-and-swap keeps a racing larger value.
        var seen = Volatile.Read(ref _maxLatency);
        while (elapsed > seen)
        {
            var was = Interlocked.CompareExchange(ref _maxLatency, elapsed, seen);
            if (was == seen)
                break;
            seen = was;
        }
    }

    /// <summary>The work waiting in the VS now: messages in its mailbox plus batches not yet answered.</summary>
    public void SetQueued(long queued) => Volatile.Write(ref _queued, queued);

    /// <summary>The monitor's read: new-connection attempts since its last read, the longest latency since then (reset), queued work now.</summary>
    internal (long NewConnections, TimeSpan Latency, long Queued) Sample()
    {
        var attempts = Volatile.Read(ref _attempts);
        var delta = attempts - _attemptsSampled;
        _attemptsSampled = attempts;
        var latency = Interlocked.Exchange(ref _maxLatency, 0);
        return (delta, Stopwatch.GetElapsedTime(0, latency), Volatile.Read(ref _queued));
    }
}
