using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Cli.Loadgen;

/// <summary>Running totals of a load generator (thread-safe adds; read for progress and the report).</summary>
public sealed class LoadgenTally
{
    private long _sent, _accepted, _policyDropped, _rejected, _outOfState, _overLimit, _overPacketRate, _overNewConnectionRate, _overload, _unknownVs, _unanswered, _lost, _malformed;

    /// <summary>Counts a batch as sent (before its answer).</summary>
    public void Sent(int records) => Interlocked.Add(ref _sent, records);

    /// <summary>Counts what the member answered (or that it never did).</summary>
    public void Answered(IngressBatchResult r)
    {
        Interlocked.Add(ref _accepted, r.Accepted);
        Interlocked.Add(ref _policyDropped, r.PolicyDropped);
        Interlocked.Add(ref _rejected, r.Rejected);
        Interlocked.Add(ref _outOfState, r.OutOfState);
        Interlocked.Add(ref _overLimit, r.OverLimit);
        Interlocked.Add(ref _overPacketRate, r.OverPacketRate);
        Interlocked.Add(ref _overNewConnectionRate, r.OverNewConnectionRate);
        Interlocked.Add(ref _overload, r.Overload);
        Interlocked.Add(ref _unknownVs, r.UnknownVs);
        Interlocked.Add(ref _unanswered, r.Unanswered);
        Interlocked.Add(ref _lost, r.Lost);
        if (r.Error is not null)
            Interlocked.Add(ref _malformed, r.Records);
    }

    /// <summary>The totals now.</summary>
    public LoadgenReport Snapshot(TimeSpan elapsed, IReadOnlyList<string> targets, long failovers, string? error = null)
    {
        var seconds = Math.Max(elapsed.TotalSeconds, 1e-9);
        var sent = Interlocked.Read(ref _sent);
        var accepted = Interlocked.Read(ref _accepted);
        return new LoadgenReport(
            [.. targets], Math.Round(elapsed.TotalSeconds, 3), sent, accepted, Interlocked.Read(ref _policyDropped), Interlocked.Read(ref _rejected),
            Interlocked.Read(ref _outOfState), Interlocked.Read(ref _overLimit), Interlocked.Read(ref _unknownVs), Interlocked.Read(ref _unanswered),
            Interlocked.Read(ref _lost), Interlocked.Read(ref _malformed), failovers,
            Math.Round(sent / seconds), Math.Round(accepted / seconds), error,
            Interlocked.Read(ref _overPacketRate), Interlocked.Read(ref _overNewConnectionRate), Interlocked.Read(ref _overload));
    }
}

/// <summary>What <c>vsls loadgen</c> reports (its <c>--json</c> form uses these names in snake case).</summary>
/// <param name="Targets">The ingress endpoints.</param>
/// <param name="Seconds">Time spent sending and collecting answers.</param>
/// <param name="Sent">Records sent.</param>
/// <param name="Accepted">Accepted by their VS.</param>
/// <param name="PolicyDropped">Dropped by a policy rule.</param>
/// <param name="Rejected">Rejected by a policy rule.</param>
/// <param name="OutOfState">Out-of-state drops.</param>
/// <param name="OverLimit">Refused by a VS limit or by overload shedding, every kind (see <see cref="OverConnectionLimit"/> and the parts below).</param>
/// <param name="UnknownVs">Addressed to no configured VS.</param>
/// <param name="Unanswered">Routed by a member but not answered by their VS in time.</param>
/// <param name="Lost">Sent but never answered because the member's stream ended (it died or stopped).</param>
/// <param name="Malformed">In batches the member refused as malformed.</param>
/// <param name="Failovers">Times a stream moved to the next target.</param>
/// <param name="PacketsPerSecond">Sent per second.</param>
/// <param name="AcceptedPerSecond">Accepted per second.</param>
/// <param name="Error">Why the run ended early, or null.</param>
/// <param name="OverPacketRate">The part of <paramref name="OverLimit"/> over a VS's packets/s limit.</param>
/// <param name="OverNewConnectionRate">The part of <paramref name="OverLimit"/> over a VS's new-connections/s limit.</param>
/// <param name="Overload">The part of <paramref name="OverLimit"/> shed because a member was overloaded (docs/degradation.md).</param>
public sealed record LoadgenReport(
    string[] Targets,
    double Seconds,
    long Sent,
    long Accepted,
    long PolicyDropped,
    long Rejected,
    long OutOfState,
    long OverLimit,
    long UnknownVs,
    long Unanswered,
    long Lost,
    long Malformed,
    long Failovers,
    double PacketsPerSecond,
    double AcceptedPerSecond,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error,
    long OverPacketRate = 0,
    long OverNewConnectionRate = 0,
    long Overload = 0)
{
    /// <summary>The part of <see cref="OverLimit"/> refused because a VS's connection table was full.</summary>
    public long OverConnectionLimit => OverLimit - OverPacketRate - OverNewConnectionRate - Overload;

    /// <summary>Over-limit by kind, as the progress line and the report write it.</summary>
    private string OverLimitKinds => string.Create(CultureInfo.InvariantCulture,
        $"connections {OverConnectionLimit:N0}, packets/s {OverPacketRate:N0}, new-connections/s {OverNewConnectionRate:N0}, overload {Overload:N0}");

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>The report as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    /// <summary>Reads a report written by <see cref="ToJson"/>.</summary>
    public static LoadgenReport? FromJson(string json) => JsonSerializer.Deserialize<LoadgenReport>(json, s_json);

    /// <summary>One progress line.</summary>
    public string ProgressLine() => string.Create(CultureInfo.InvariantCulture,
        $"{Seconds,6:0.0}s sent {Sent:N0}  accepted {Accepted:N0}  policy-drop {PolicyDropped:N0}  reject {Rejected:N0}  out-of-state {OutOfState:N0}  over-limit {OverLimit:N0} ({OverLimitKinds})  unknown-vs {UnknownVs:N0}  lost {Lost:N0}  {PacketsPerSecond:N0} pkt/s");

    /// <summary>The final report as text.</summary>
    public string ToText() => string.Create(CultureInfo.InvariantCulture, $"""
        vsls loadgen: {string.Join(", ", Targets)}, {Seconds:0.0} s
          sent            {Sent,14:N0}   {PacketsPerSecond,12:N0} pkt/s
          accepted        {Accepted,14:N0}   {AcceptedPerSecond,12:N0} pkt/s
          policy-dropped  {PolicyDropped,14:N0}
          rejected        {Rejected,14:N0}
          out-of-state    {OutOfState,14:N0}
          over-limit      {OverLimit,14:N0}   ({OverLimitKinds})
          unknown VS      {UnknownVs,14:N0}
          unanswered      {Unanswered,14:N0}
          lost            {Lost,14:N0}   (sent, never answered: member gone)
          malformed       {Malformed,14:N0}
          failovers       {Failovers,14:N0}
        """);
}
