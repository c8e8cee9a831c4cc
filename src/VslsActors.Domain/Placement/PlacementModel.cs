using System.Collections.Immutable;

namespace VslsActors.Domain.Placement;

/// <summary>
/// What the cluster knows about a member when placement is computed. A member that placement
/// is not told about is treated as <see cref="Down"/>.
/// </summary>
public enum MemberState
{
    /// <summary>In the cluster and healthy: may be Active, Standby or Backup for any VS.</summary>
    Up,
    /// <summary>
    /// Unreachable, gone, or never joined: hosts nothing. A member missing from the states given
    /// to placement is Down.
    /// </summary>
    Down,
    /// <summary>
    /// Still in the cluster but being emptied by an operator (<c>vsls ctl member drain</c>, the
    /// counterpart of a Check Point pnote): VSs leave it for Up members, but while no Up member
    /// remains it still hosts them, so that a drain never leaves a VS with nowhere to run.
    /// Draining members rank after every Up member.
    /// </summary>
    Draining,
}

/// <summary>The role a member plays for one VS.</summary>
public enum VsRole
{
    /// <summary>The member neither hosts the VS nor is in line to.</summary>
    None,
    /// <summary>The member processes the VS's traffic.</summary>
    Active,
    /// <summary>The member takes over next if the Active one goes.</summary>
    Standby,
    /// <summary>The member takes over after the Standby (in the order of <see cref="VsPlacement.Backups"/>).</summary>
    Backup,
}

/// <summary>
/// Where one virtual system runs: its Active member, its Standby (the next to take over) and
/// its Backups in takeover order. Every member appears at most once. <see cref="Active"/> is
/// null only when no member is Up or Draining; <see cref="Standby"/> is null when fewer than two are.
/// </summary>
/// <param name="Vs">The virtual system.</param>
/// <param name="Active">The member that processes its traffic, or null when none can.</param>
/// <param name="Standby">The member that takes over next, or null.</param>
/// <param name="Backups">The members that take over after the Standby, in order.</param>
/// <param name="Weight">The VS's weight, carried so that loads can be summed from a placement alone.</param>
public sealed record VsPlacement(
    VsId Vs,
    MemberName? Active,
    MemberName? Standby,
    ImmutableArray<MemberName> Backups,
    int Weight = Topology.VirtualSystemConfig.DefaultWeight)
{
    /// <summary>The role <paramref name="member"/> plays for this VS.</summary>
    public VsRole RoleOf(MemberName member)
    {
        if (Active == member)
            return VsRole.Active;
        if (Standby == member)
            return VsRole.Standby;
        foreach (var b in Backups.AsSpan())
        {
            if (b == member)
                return VsRole.Backup;
        }
        return VsRole.None;
    }

    /// <summary>Value equality, comparing <see cref="Backups"/> element by element.</summary>
    public bool Equals(VsPlacement? other) =>
        other is not null
        && Vs == other.Vs
        && Active == other.Active
        && Standby == other.Standby
        && Weight == other.Weight
        && Backups.AsSpan().SequenceEqual(other.Backups.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Vs);
        h.Add(Active);
        h.Add(Standby);
        h.Add(Weight);
        foreach (var b in Backups.AsSpan())
            h.Add(b);
        return h.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"VS {Vs} (weight {Weight}): active {Active?.ToString() ?? "-"}, standby {Standby?.ToString() ?? "-"}, backups [{string.Join(", ", Backups.AsSpan().ToArray())}]";
}

/// <summary>
/// The placement of every configured VS: the result of <see cref="PlacementCalculator.Compute"/>.
/// Entries are kept sorted by VS id, so lookups are binary searches (no dictionary to build)
/// and two placements of the same inputs are equal element by element.
/// </summary>
public sealed record Placement
{
    /// <summary>A placement of no VS.</summary>
    public static Placement Empty { get; } = new(ImmutableArray<VsPlacement>.Empty);

    /// <summary>Every VS's placement, sorted by VS id.</summary>
    public ImmutableArray<VsPlacement> Vss { get; }

    private Placement(ImmutableArray<VsPlacement> sorted) => Vss = sorted;

    /// <summary>
    /// A placement of <paramref name="vss"/> in any order (e.g. rebuilt from what the cluster
    /// observed, to pass as <c>current</c> for <see cref="Topology.FailbackMode.ActiveUp"/>).
    /// Throws <see cref="ArgumentException"/> when a VS appears twice.
    /// </summary>
    public static Placement From(IEnumerable<VsPlacement> vss)
    {
        ArgumentNullException.ThrowIfNull(vss);
        var array = vss.ToArray();
        Array.Sort(array, static (a, b) => a.Vs.CompareTo(b.Vs));
        for (var i = 1; i < array.Length; i++)
        {
            if (array[i].Vs == array[i - 1].Vs)
                throw new ArgumentException($"virtual system {array[i].Vs} is placed twice", nameof(vss));
        }
        return new Placement(System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(array));
    }

    /// <summary>Wraps an array the caller has already sorted by id without duplicates, and hands over.</summary>
    internal static Placement FromSortedUnchecked(VsPlacement[] sorted) =>
        new(System.Runtime.InteropServices.ImmutableCollectionsMarshal.AsImmutableArray(sorted));

    /// <summary>The number of placed VSs.</summary>
    public int Count => Vss.Length;

    /// <summary>The placement of <paramref name="vs"/>, or null when it is not placed.</summary>
    public VsPlacement? Find(VsId vs)
    {
        var span = Vss.AsSpan();
        int lo = 0, hi = span.Length - 1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            var c = span[mid].Vs.Value.CompareTo(vs.Value);
            if (c == 0)
                return span[mid];
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return null;
    }

    /// <summary>The VSs Active on <paramref name="member"/>, by id.</summary>
    public ImmutableArray<VsId> ActiveOn(MemberName member)
    {
        var builder = ImmutableArray.CreateBuilder<VsId>();
        foreach (var p in Vss.AsSpan())
        {
            if (p.Active == member)
                builder.Add(p.Vs);
        }
        return builder.ToImmutable();
    }

    /// <summary>The VSs whose Standby is <paramref name="member"/>, by id.</summary>
    public ImmutableArray<VsId> StandbyOn(MemberName member)
    {
        var builder = ImmutableArray.CreateBuilder<VsId>();
        foreach (var p in Vss.AsSpan())
        {
            if (p.Standby == member)
                builder.Add(p.Vs);
        }
        return builder.ToImmutable();
    }

    /// <summary>The summed weight of the VSs Active on <paramref name="member"/>.</summary>
    public long ActiveLoad(MemberName member)
    {
        long load = 0;
        foreach (var p in Vss.AsSpan())
        {
            if (p.Active == member)
                load += p.Weight;
        }
        return load;
    }

    /// <summary>The summed weight of the VSs whose Standby is <paramref name="member"/>.</summary>
    public long StandbyLoad(MemberName member)
    {
        long load = 0;
        foreach (var p in Vss.AsSpan())
        {
            if (p.Standby == member)
                load += p.Weight;
        }
        return load;
    }

    /// <summary>Value equality over <see cref="Vss"/>, element by element.</summary>
    public bool Equals(Placement? other)
    {
        if (other is null)
            return false;
        if (ReferenceEquals(this, other))
            return true;
        var a = Vss.AsSpan();
        var b = other.Vss.AsSpan();
        if (a.Length != b.Length)
            return false;
        for (var i = 0; i < a.Length; i++)
        {
            if (!a[i].Equals(b[i]))
                return false;
        }
        return true;
    }

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var p in Vss.AsSpan())
            h.Add(p);
        return h.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => $"Placement of {Count} VSs:{Environment.NewLine}{string.Join(Environment.NewLine, Vss.AsSpan().ToArray().Select(p => "  " + p))}";
}

/// <summary>
/// One VS's weight and priority list: the output of <see cref="Distribution"/>, and one line of
/// a VSLS configuration file (<see cref="VslsConfigFile"/>). Position 0 of <see cref="Members"/>
/// is where the VS should be Active, 1 Standby, 2 and later Backup.
/// </summary>
/// <param name="Vs">The virtual system.</param>
/// <param name="Weight">Its weight (share of load).</param>
/// <param name="Members">Its priority list, highest priority first.</param>
public sealed record VsPriority(VsId Vs, int Weight, ImmutableArray<MemberName> Members)
{
    /// <summary>Value equality, comparing <see cref="Members"/> element by element.</summary>
    public bool Equals(VsPriority? other) =>
        other is not null
        && Vs == other.Vs
        && Weight == other.Weight
        && Members.AsSpan().SequenceEqual(other.Members.AsSpan());

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Vs);
        h.Add(Weight);
        foreach (var m in Members.AsSpan())
            h.Add(m);
        return h.ToHashCode();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Vs} {Weight} {string.Join(",", Members.AsSpan().ToArray())}";
}
