using VslsActors.Cluster.Protocol;
using VslsActors.Domain;

namespace VslsActors.Cli.Demo;

/// <summary>
/// The driver's running totals, fed from verdict replies on any thread: packets per verdict and per
/// answering member, where each VS runs, and the failover timing — per VS the last reply with an
/// accepted packet before the kill (or from the killed member) and the first reply with an accepted
/// packet from another member after it. Times are the driver's clock since traffic started.
/// </summary>
internal sealed class DemoTally
{
    private readonly object _gate = new();
    private readonly Dictionary<string, long> _answeredByMember = [];
    private readonly Dictionary<VsId, string> _vsMember = [];
    private readonly Dictionary<VsId, TimeSpan> _lastAcceptedBefore = [];
    private readonly Dictionary<VsId, TimeSpan> _firstAcceptedAfter = [];
    private HashSet<VsId> _victimVss = [];
    private VerdictCounts _totals = VerdictCounts.Zero;
    private long _sent, _unanswered;
    private string? _victim;
    private TimeSpan _killedAt;

    public void Sent(int packets)
    {
        lock (_gate)
            _sent += packets;
    }

    public void Unanswered(int packets)
    {
        lock (_gate)
            _unanswered += packets;
    }

    /// <summary>A verdict reply for a batch of <paramref name="vs"/> arrived at <paramref name="at"/>.</summary>
    public void Record(VsId vs, VirtualSystemReplies.PacketVerdicts verdicts, TimeSpan at)
    {
        lock (_gate)
        {
            _totals = _totals.Add(verdicts.Counts);
            _answeredByMember[verdicts.Member] = _answeredByMember.GetValueOrDefault(verdicts.Member) + verdicts.Counts.Total;
            _vsMember[vs] = verdicts.Member;
            if (verdicts.Counts.Accepted <= 0)
                return;
            // A reply from the killed member can still arrive just after the kill: it was decided before.
            if (_victim is null || verdicts.Member == _victim)
                _lastAcceptedBefore[vs] = at;
            else if (_victimVss.Contains(vs))
                _firstAcceptedAfter.TryAdd(vs, at);
        }
    }

    /// <summary>Where <paramref name="vs"/> runs, as a Started or Status reply said.</summary>
    public void SetMember(VsId vs, string member)
    {
        lock (_gate)
        {
            if (member != _victim)
                _vsMember[vs] = member;
        }
    }

    /// <summary>The member a VS was last seen on, or null.</summary>
    public string? MemberOf(VsId vs)
    {
        lock (_gate)
            return _vsMember.GetValueOrDefault(vs);
    }

    /// <summary>VSs per member, as last seen.</summary>
    public Dictionary<string, int> ActiveCounts()
    {
        lock (_gate)
            return _vsMember.Values.GroupBy(m => m).ToDictionary(g => g.Key, g => g.Count());
    }

    /// <summary>Records the kill of <paramref name="victim"/>; returns the VSs it was Active for.</summary>
    public IReadOnlySet<VsId> MarkKill(string victim, TimeSpan at)
    {
        lock (_gate)
        {
            _victim = victim;
            _killedAt = at;
            _victimVss = _vsMember.Where(p => p.Value == victim).Select(p => p.Key).ToHashSet();
            return _victimVss;
        }
    }

    /// <summary>Whether every VS of the killed member has accepted packets on another member.</summary>
    public bool AllRecovered()
    {
        lock (_gate)
            return _victim is not null && _victimVss.All(_firstAcceptedAfter.ContainsKey);
    }

    /// <summary>
    /// Per failed-over VS, milliseconds from its last accepted packet before the kill (the kill itself
    /// if it had none) to its first accepted packet after; VSs that never came back are absent.
    /// </summary>
    public Dictionary<VsId, double> Gaps()
    {
        lock (_gate)
        {
            var gaps = new Dictionary<VsId, double>();
            foreach (var vs in _victimVss)
            {
                if (!_firstAcceptedAfter.TryGetValue(vs, out var after))
                    continue;
                var before = _lastAcceptedBefore.TryGetValue(vs, out var b) ? b : _killedAt;
                gaps[vs] = (after - before).TotalMilliseconds;
            }
            return gaps;
        }
    }

    /// <summary>Totals so far.</summary>
    public (long Sent, VerdictCounts Totals, long Unanswered) Totals()
    {
        lock (_gate)
            return (_sent, _totals, _unanswered);
    }

    /// <summary>Packets answered per member so far.</summary>
    public Dictionary<string, long> AnsweredByMember()
    {
        lock (_gate)
            return new Dictionary<string, long>(_answeredByMember);
    }
}
