namespace VslsActors.Domain.Connections;

/// <summary>
/// A connection filter (<c>vsls ctl conn list --filter</c>) that cannot be compiled. The message
/// is one line naming the column (1-based, counted in characters of the filter text) and what
/// was expected there, e.g. <c>filter: column 14: expected a value after '=', got end of input</c>.
/// Front ends print <see cref="Exception.Message"/> and exit with status 2.
/// </summary>
public sealed class FilterException : Exception
{
    /// <summary>1-based column of the filter text where the problem is.</summary>
    public int Column { get; }

    /// <summary>What is wrong, without the location.</summary>
    public string Problem { get; }

    /// <summary>Creates the error; the message is <c>filter: column N: problem</c>.</summary>
    public FilterException(int column, string problem)
        : base($"filter: column {column}: {problem}")
    {
        Column = column;
        Problem = problem;
    }
}
