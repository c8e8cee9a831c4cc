namespace VslsActors.Domain.Policy;

/// <summary>
/// What a policy decided for the first packet of a connection: which rule matched and what it
/// says. A small value (no allocation per decision); the rule name is a reference to the string
/// held by the compiled policy.
/// </summary>
/// <param name="RuleIndex">0-based position of the matching rule in the rule base, or −1 for the implicit cleanup rule.</param>
/// <param name="Action">What to do with the connection.</param>
/// <param name="Track">Whether the match is logged.</param>
/// <param name="Sync">How an accepted connection is synchronized.</param>
/// <param name="RuleName">The matching rule's name, or <see cref="ImplicitCleanupName"/>.</param>
public readonly record struct PolicyDecision(int RuleIndex, RuleAction Action, TrackMode Track, SyncMode Sync, string RuleName)
{
    /// <summary>The name under which the implicit cleanup rule appears in logs and tables.</summary>
    public const string ImplicitCleanupName = "implicit-cleanup";

    /// <summary>
    /// The decision of the implicit cleanup rule: drop, not logged (as Check Point's implicit
    /// cleanup rule does; an operator who wants the drops logged writes an explicit last rule
    /// "any any any drop log"), and never synchronized since nothing is accepted.
    /// </summary>
    public static PolicyDecision ImplicitCleanup { get; } = new(-1, RuleAction.Drop, TrackMode.None, SyncMode.None, ImplicitCleanupName);

    /// <summary>Whether no rule matched and the implicit cleanup rule dropped the packet.</summary>
    public bool IsImplicitCleanup => RuleIndex < 0;

    /// <inheritdoc />
    public override string ToString() => IsImplicitCleanup
        ? $"{RuleName}: {Action.ToString().ToLowerInvariant()}"
        : $"rule {RuleIndex} ({RuleName}): {Action.ToString().ToLowerInvariant()}, track {Track.ToString().ToLowerInvariant()}, sync {Sync.ToString().ToLowerInvariant()}";
}
