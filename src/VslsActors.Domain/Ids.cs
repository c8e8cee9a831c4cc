namespace VslsActors.Domain;

/// <summary>
/// Identifies a virtual system (a tenant). Always ≥ 1, as in VSX where VS 0 is the host itself.
/// Also the shard id and entity id of the VS in the cluster.
/// </summary>
public readonly record struct VsId : IComparable<VsId>
{
    /// <summary>The numeric id, ≥ 1.</summary>
    public int Value { get; }

    /// <summary>Creates an id; throws <see cref="ArgumentOutOfRangeException"/> for values below 1.</summary>
    public VsId(int value)
    {
        if (value < 1)
            throw new ArgumentOutOfRangeException(nameof(value), value, "a virtual system id is an integer ≥ 1");
        Value = value;
    }

    /// <summary>Parses the decimal form written in files and on the command line.</summary>
    public static bool TryParse(string? text, out VsId id)
    {
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 1)
        {
            id = new VsId(n);
            return true;
        }
        id = default;
        return false;
    }

    /// <inheritdoc />
    public int CompareTo(VsId other) => Value.CompareTo(other.Value);

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The configured name of a cluster member (<c>member-1</c>, …). Travels as a cluster role so
/// that a region's address can be mapped back to a name. Compared ordinally.
/// </summary>
public readonly record struct MemberName : IComparable<MemberName>
{
    /// <summary>The name as configured.</summary>
    public string Value { get; }

    /// <summary>Creates a name; letters, digits, '-', '_' and '.', 1–64 characters.</summary>
    public MemberName(string value)
    {
        if (!IsValid(value))
            throw new ArgumentException($"'{value}' is not a member name (1-64 letters, digits, '-', '_' or '.')", nameof(value));
        Value = value;
    }

    /// <summary>Whether <paramref name="value"/> is usable as a member name.</summary>
    public static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 64)
            return false;
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
                return false;
        }
        return true;
    }

    /// <inheritdoc />
    public int CompareTo(MemberName other) => string.CompareOrdinal(Value, other.Value);

    /// <inheritdoc />
    public override string ToString() => Value ?? "";
}
