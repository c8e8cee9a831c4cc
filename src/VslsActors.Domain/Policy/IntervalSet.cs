namespace VslsActors.Domain.Policy;

/// <summary>
/// A set of values of one dimension (addresses, ports, ICMP types, protocol numbers) as sorted,
/// disjoint, non-adjacent inclusive intervals. Used only while compiling a policy, so it favours
/// clarity over speed.
/// </summary>
internal sealed class IntervalSet
{
    private readonly List<(UInt128 Low, UInt128 High)> _intervals;

    private IntervalSet(List<(UInt128 Low, UInt128 High)> normalized) => _intervals = normalized;

    /// <summary>The intervals, sorted and merged.</summary>
    public IReadOnlyList<(UInt128 Low, UInt128 High)> Intervals => _intervals;

    /// <summary>The empty set.</summary>
    public static IntervalSet Empty { get; } = new([]);

    /// <summary>The set <c>[0, max]</c>: every value of a dimension whose largest value is <paramref name="max"/>.</summary>
    public static IntervalSet All(UInt128 max) => new([(UInt128.Zero, max)]);

    /// <summary>Builds a set from possibly overlapping, unsorted intervals.</summary>
    public static IntervalSet From(IEnumerable<(UInt128 Low, UInt128 High)> intervals)
    {
        var sorted = new List<(UInt128 Low, UInt128 High)>(intervals);
        sorted.Sort((a, b) => a.Low.CompareTo(b.Low));
        var merged = new List<(UInt128 Low, UInt128 High)>(sorted.Count);
        foreach (var (low, high) in sorted)
        {
            if (merged.Count > 0)
            {
                var last = merged[^1];
                // Adjacent intervals merge too (last.High + 1 == low), guarding the overflow at the top.
                if (last.High == UInt128.MaxValue || low <= last.High + 1)
                {
                    if (high > last.High)
                        merged[^1] = (last.Low, high);
                    continue;
                }
            }
            merged.Add((low, high));
        }
        return new IntervalSet(merged);
    }

    /// <summary>The union of several sets.</summary>
    public static IntervalSet Union(IEnumerable<IntervalSet> sets)
    {
        var all = new List<(UInt128, UInt128)>();
        foreach (var s in sets)
            all.AddRange(s._intervals);
        return From(all);
    }

    /// <summary>Every value of <c>[0, max]</c> not in this set.</summary>
    public IntervalSet Complement(UInt128 max)
    {
        var result = new List<(UInt128 Low, UInt128 High)>(_intervals.Count + 1);
        var next = UInt128.Zero;
        var exhausted = false;
        foreach (var (low, high) in _intervals)
        {
            if (low > next)
                result.Add((next, low - 1));
            if (high >= max)
            {
                exhausted = true;
                break;
            }
            next = high + 1;
        }
        if (!exhausted)
            result.Add((next, max));
        return new IntervalSet(result);
    }

    /// <summary>Whether <paramref name="value"/> is in the set.</summary>
    public bool Contains(UInt128 value)
    {
        foreach (var (low, high) in _intervals)
        {
            if (value >= low && value <= high)
                return true;
        }
        return false;
    }
}

/// <summary>
/// Turns one dimension's per-rule interval sets into elementary intervals, each labelled with
/// the (interned) bitset of rules whose cell covers it: the compile step of the Lakshman and
/// Stiliadis bit-vector scheme. Bitsets are interned in a pool shared by every dimension of a
/// policy, because many elementary intervals carry the same rule set (typically the "any" rules).
/// </summary>
internal sealed class RuleSetPool
{
    private readonly int _words;
    private readonly List<ulong> _pool = [];
    private readonly Dictionary<ulong[], int> _offsets;

    public RuleSetPool(int ruleCount)
    {
        _words = (ruleCount + 63) / 64;
        _offsets = new Dictionary<ulong[], int>(new BitsComparer());
    }

    /// <summary>Number of 64-bit words per bitset.</summary>
    public int Words => _words;

    /// <summary>Number of distinct rule sets interned so far.</summary>
    public int DistinctSets => _offsets.Count;

    /// <summary>The pool: bitset <c>k</c> occupies words <c>[offset, offset + Words)</c>.</summary>
    public ulong[] ToArray() => [.. _pool];

    /// <summary>The offset in the pool of a bitset equal to <paramref name="bits"/>, adding it if new.</summary>
    public int Intern(ulong[] bits)
    {
        if (_offsets.TryGetValue(bits, out var offset))
            return offset;
        offset = _pool.Count;
        _pool.AddRange(bits);
        _offsets.Add((ulong[])bits.Clone(), offset);
        return offset;
    }

    /// <summary>
    /// Sweeps the boundaries of every rule's set over <c>[0, max]</c> and returns the elementary
    /// intervals (by their first value, ascending, the first always 0) and the pool offset of the
    /// rule set of each. Neighbouring intervals with the same rule set are merged.
    /// </summary>
    public (UInt128[] Starts, int[] Offsets) Build(IReadOnlyList<IntervalSet> ruleSets, UInt128 max)
    {
        // Each rule's intervals are disjoint, so its bit toggles on at Low and off at High + 1.
        var events = new List<(UInt128 At, int Rule)>();
        for (var r = 0; r < ruleSets.Count; r++)
        {
            foreach (var (low, high) in ruleSets[r].Intervals)
            {
                events.Add((low, r));
                if (high < max)
                    events.Add((high + 1, r));
            }
        }
        events.Sort((a, b) => a.At.CompareTo(b.At));

        var current = new ulong[_words];
        var starts = new List<UInt128> { UInt128.Zero };
        var offsets = new List<int> { Intern(current) };
        var i = 0;
        while (i < events.Count)
        {
            var at = events[i].At;
            while (i < events.Count && events[i].At == at)
            {
                var rule = events[i].Rule;
                current[rule >> 6] ^= 1UL << (rule & 63);
                i++;
            }
            var offset = Intern(current);
            if (at == UInt128.Zero)
                offsets[0] = offset;
            else if (offset != offsets[^1])
            {
                starts.Add(at);
                offsets.Add(offset);
            }
        }
        return ([.. starts], [.. offsets]);
    }

    private sealed class BitsComparer : IEqualityComparer<ulong[]>
    {
        public bool Equals(ulong[]? x, ulong[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(ulong[] bits)
        {
            var hash = new HashCode();
            foreach (var w in bits)
                hash.Add(w);
            return hash.ToHashCode();
        }
    }
}
