using System.Globalization;

namespace VslsActors.Domain.Configuration;

/// <summary>The kind of a <see cref="HoconValue"/>.</summary>
public enum HoconKind
{
    /// <summary>An object: ordered, uniquely keyed fields.</summary>
    Object,
    /// <summary>An array of values.</summary>
    Array,
    /// <summary>A quoted string, an unquoted word that is not a number/bool/null, or a concatenation.</summary>
    String,
    /// <summary>An unquoted JSON number (<c>10</c>, <c>-1.5</c>, <c>1e3</c>).</summary>
    Number,
    /// <summary>Unquoted <c>true</c> or <c>false</c>.</summary>
    Boolean,
    /// <summary>Unquoted <c>null</c>.</summary>
    Null,
}

/// <summary>One field of a HOCON object: its key (one path segment), its value and where the key was written.</summary>
public sealed record HoconField(string Key, HoconValue Value, int Line, int Column);

/// <summary>
/// A node of a parsed HOCON document (<see cref="HoconReader"/>): object, array or scalar,
/// each remembering the file, 1-based line and column where it starts so that whoever
/// interprets the tree can point an operator at the exact place of a mistake.
/// Scalars keep their text; conversions (<see cref="TryGetInt32"/>, <see cref="TryGetDuration"/>, …)
/// follow HOCON's rules: a quoted "20" is as good a number as an unquoted 20.
/// </summary>
public sealed class HoconValue
{
    private readonly List<HoconField>? _fields;
    private readonly Dictionary<string, int>? _index;
    private readonly List<HoconValue>? _items;

    private HoconValue(HoconKind kind, string origin, int line, int column, string? text)
    {
        Kind = kind;
        Origin = origin;
        Line = line;
        Column = column;
        Text = text;
        if (kind == HoconKind.Object)
        {
            _fields = [];
            _index = new Dictionary<string, int>(StringComparer.Ordinal);
        }
        else if (kind == HoconKind.Array)
        {
            _items = [];
        }
    }

    /// <summary>What this node is.</summary>
    public HoconKind Kind { get; }

    /// <summary>The file (or source description) it was read from.</summary>
    public string Origin { get; }

    /// <summary>1-based line where the value starts.</summary>
    public int Line { get; }

    /// <summary>1-based column where the value starts.</summary>
    public int Column { get; }

    /// <summary>The text of a scalar (for <see cref="HoconKind.Null"/> the word <c>null</c>); null for objects and arrays.</summary>
    public string? Text { get; }

    /// <summary>Whether this is a string, number, boolean or null.</summary>
    public bool IsScalar => Kind is not (HoconKind.Object or HoconKind.Array);

    /// <summary>The fields of an object in the order they were first written; empty for other kinds.</summary>
    public IReadOnlyList<HoconField> Fields => (IReadOnlyList<HoconField>?)_fields ?? [];

    /// <summary>The elements of an array; empty for other kinds.</summary>
    public IReadOnlyList<HoconValue> Items => (IReadOnlyList<HoconValue>?)_items ?? [];

    /// <summary>A short description for messages: "an object", "a list", "the string 'x'".</summary>
    public string Describe() => Kind switch
    {
        HoconKind.Object => "an object",
        HoconKind.Array => "a list",
        HoconKind.Null => "null",
        _ => $"'{Text}'",
    };

    /// <summary>The field named <paramref name="key"/> of an object (one segment, not a path).</summary>
    public bool TryGetField(string key, out HoconField field)
    {
        if (_index is not null && _index.TryGetValue(key, out var i))
        {
            field = _fields![i];
            return true;
        }
        field = null!;
        return false;
    }

    /// <summary>The value at a dotted path (<c>vsls.defaults.weight</c>), or null when any segment is missing.</summary>
    public HoconValue? GetPath(string path)
    {
        var node = this;
        foreach (var segment in path.Split('.'))
        {
            if (!node.TryGetField(segment, out var f))
                return null;
            node = f.Value;
        }
        return node;
    }

    /// <summary>The scalar's text; false for objects, arrays and null.</summary>
    public bool TryGetString(out string text)
    {
        if (Kind is HoconKind.String or HoconKind.Number or HoconKind.Boolean)
        {
            text = Text!;
            return true;
        }
        text = "";
        return false;
    }

    /// <summary>A whole number in the range of <see cref="int"/>, unquoted or quoted.</summary>
    public bool TryGetInt32(out int value, out string error)
    {
        value = 0;
        if (!IsScalar || Kind == HoconKind.Null)
        {
            error = $"expected a whole number but found {Describe()}";
            return false;
        }
        if (long.TryParse(Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            if (l is < int.MinValue or > int.MaxValue)
            {
                error = $"{Text} is out of range";
                return false;
            }
            value = (int)l;
            error = "";
            return true;
        }
        error = $"expected a whole number but found {Describe()}";
        return false;
    }

    /// <summary>HOCON booleans: <c>true/false</c>, <c>yes/no</c>, <c>on/off</c>.</summary>
    public bool TryGetBoolean(out bool value, out string error)
    {
        switch (Kind == HoconKind.Null ? null : Text)
        {
            case "true" or "yes" or "on": value = true; error = ""; return true;
            case "false" or "no" or "off": value = false; error = ""; return true;
        }
        value = false;
        error = $"expected true or false but found {Describe()}";
        return false;
    }

    /// <summary>
    /// A duration: a number and a unit, with or without a space between (<c>25s</c>, <c>3600 s</c>,
    /// <c>500ms</c>, <c>1.5m</c>, <c>2h</c>, <c>1d</c>; also the long forms <c>seconds</c>, <c>minutes</c>, …).
    /// Unlike plain HOCON, a bare number is refused: HOCON would read <c>3600</c> as 3600 milliseconds,
    /// a silent factor-of-1000 mistake in a timeout.
    /// </summary>
    public bool TryGetDuration(out TimeSpan value, out string error)
    {
        value = default;
        if (!TryGetString(out var text) || Kind == HoconKind.Boolean)
        {
            error = $"expected a duration such as 25s but found {Describe()}";
            return false;
        }
        var s = text.Trim();
        var i = 0;
        if (i < s.Length && s[i] is '-' or '+')
            i++;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            i++;
        var numberText = s[..i];
        var unit = s[i..].Trim();
        if (!double.TryParse(numberText, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            error = $"'{text}' is not a duration (expected a number and a unit, e.g. 25s)";
            return false;
        }
        if (unit.Length == 0)
        {
            error = $"'{text}' has no unit; write e.g. {numberText}s (ms, s, m, h and d are understood)";
            return false;
        }
        double ticksPerUnit;
        switch (unit)
        {
            case "ns" or "nano" or "nanos" or "nanosecond" or "nanoseconds": ticksPerUnit = TimeSpan.TicksPerMillisecond / 1_000_000.0; break;
            case "us" or "micro" or "micros" or "microsecond" or "microseconds": ticksPerUnit = TimeSpan.TicksPerMicrosecond; break;
            case "ms" or "milli" or "millis" or "millisecond" or "milliseconds": ticksPerUnit = TimeSpan.TicksPerMillisecond; break;
            case "s" or "second" or "seconds": ticksPerUnit = TimeSpan.TicksPerSecond; break;
            case "m" or "minute" or "minutes": ticksPerUnit = TimeSpan.TicksPerMinute; break;
            case "h" or "hour" or "hours": ticksPerUnit = TimeSpan.TicksPerHour; break;
            case "d" or "day" or "days": ticksPerUnit = TimeSpan.TicksPerDay; break;
            default:
                error = $"'{text}' has an unknown unit '{unit}' (ms, s, m, h and d are understood)";
                return false;
        }
        var ticks = number * ticksPerUnit;
        if (double.IsNaN(ticks) || Math.Abs(ticks) >= TimeSpan.MaxValue.Ticks)
        {
            error = $"'{text}' is out of range";
            return false;
        }
        value = TimeSpan.FromTicks((long)Math.Round(ticks));
        error = "";
        return true;
    }

    /// <summary>The scalar's text; throws a <see cref="ConfigException"/> pointing at this value otherwise.</summary>
    public string GetString() =>
        TryGetString(out var s) ? s : throw new ConfigException(Origin, Line, null, null, $"expected a string but found {Describe()}");

    /// <summary>A whole number; throws a <see cref="ConfigException"/> pointing at this value otherwise.</summary>
    public int GetInt32() =>
        TryGetInt32(out var v, out var error) ? v : throw new ConfigException(Origin, Line, null, null, error);

    /// <summary>A boolean; throws a <see cref="ConfigException"/> pointing at this value otherwise.</summary>
    public bool GetBoolean() =>
        TryGetBoolean(out var v, out var error) ? v : throw new ConfigException(Origin, Line, null, null, error);

    /// <summary>A duration (see <see cref="TryGetDuration"/>); throws a <see cref="ConfigException"/> pointing at this value otherwise.</summary>
    public TimeSpan GetDuration() =>
        TryGetDuration(out var v, out var error) ? v : throw new ConfigException(Origin, Line, null, null, error);

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        HoconKind.Object => "{" + string.Join(", ", Fields.Select(f => $"{f.Key} = {f.Value}")) + "}",
        HoconKind.Array => "[" + string.Join(", ", Items) + "]",
        _ => Text ?? "null",
    };

    // Construction is the reader's business: the tree is immutable once parsing returns.
    internal static HoconValue NewObject(string origin, int line, int column) => new(HoconKind.Object, origin, line, column, null);

    internal static HoconValue NewArray(string origin, int line, int column) => new(HoconKind.Array, origin, line, column, null);

    internal static HoconValue NewScalar(HoconKind kind, string origin, int line, int column, string text) => new(kind, origin, line, column, text);

    internal void AddItem(HoconValue item) => _items!.Add(item);

    /// <summary>
    /// Adds a field with HOCON's duplicate-key rule: two objects under one key merge field by
    /// field; anything else is replaced by the later value (which keeps the earlier position).
    /// </summary>
    internal void SetField(HoconField field)
    {
        if (_index!.TryGetValue(field.Key, out var i))
        {
            var existing = _fields![i];
            if (existing.Value.Kind == HoconKind.Object && field.Value.Kind == HoconKind.Object)
            {
                foreach (var f in field.Value.Fields)
                    existing.Value.SetField(f);
                return;
            }
            _fields[i] = field;
            return;
        }
        _index[field.Key] = _fields!.Count;
        _fields.Add(field);
    }
}
