using System.Globalization;

namespace VslsActors.Cli;

/// <summary>
/// Durations as written on the command line: <c>30s</c>, <c>1500ms</c>, <c>2m</c>, <c>1h</c>, or a bare
/// number of seconds (<c>30</c>, <c>2.5</c>) — the units of the topology files.
/// </summary>
public static class DurationParser
{
    /// <summary>Parses <paramref name="text"/>; false with a reason when it is not a duration ≥ 0.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string error)
    {
        value = default;
        var t = (text ?? "").Trim();
        (string Suffix, double Scale)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        double scale = 1;
        foreach (var (suffix, s) in units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && (suffix != "s" || !t.EndsWith("ms", StringComparison.OrdinalIgnoreCase)))
            {
                t = t[..^suffix.Length];
                scale = s;
                break;
            }
        }
        if (!double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) || double.IsInfinity(n * scale) || n * scale > TimeSpan.MaxValue.TotalSeconds)
        {
            error = $"'{text}' is not a duration (e.g. 30s, 1500ms, 2m)";
            return false;
        }
        value = TimeSpan.FromSeconds(n * scale);
        error = "";
        return true;
    }
}
