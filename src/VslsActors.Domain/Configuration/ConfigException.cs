namespace VslsActors.Domain.Configuration;

/// <summary>
/// A configuration file (topology, policy, VSLS export) that cannot be used. Carries where the
/// problem is — file, line, virtual system, field — and renders them as one line an operator
/// can act on, e.g.
/// <c>hocon/topology.conf:42: virtual system 3 (corp-web), priority: unknown member 'member-9' (members: member-1, member-2)</c>.
/// Front ends print <see cref="Exception.Message"/> and exit non-zero; they never show a stack trace.
/// </summary>
public sealed class ConfigException : Exception
{
    /// <summary>The file, or a description of the source ("command line") when there is no file.</summary>
    public string Origin { get; }

    /// <summary>1-based line, when known.</summary>
    public int? Line { get; }

    /// <summary>The virtual system the problem is in, when it is in one.</summary>
    public string? VirtualSystem { get; }

    /// <summary>The field (HOCON path or column name) at fault, when known.</summary>
    public string? Field { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    /// <summary>Creates the error; the message is composed from the parts.</summary>
    public ConfigException(string source, int? line, string? virtualSystem, string? field, string problem)
        : base(Compose(source, line, virtualSystem, field, problem))
    {
        Origin = source;
        Line = line;
        VirtualSystem = virtualSystem;
        Field = field;
        Problem = problem;
    }

    private static string Compose(string source, int? line, string? vs, string? field, string problem)
    {
        var where = line is { } l ? $"{source}:{l}" : source;
        var parts = new List<string>(3) { where };
        if (vs is not null)
            parts.Add($"virtual system {vs}");
        if (field is not null)
            parts.Add(field);
        return $"{string.Join(": ", parts)}: {problem}";
    }
}
