using System.Text.Json;
using System.Text.Json.Serialization;

namespace VslsActors.Cli.Demo;

/// <summary>One member in the demo report.</summary>
/// <param name="Name">Member name.</param>
/// <param name="Port">Its Akka.Remote port.</param>
/// <param name="Killed">Whether the demo killed it (SIGKILL).</param>
/// <param name="ActiveVirtualSystemsBefore">VSs Active on it just before the kill (or at the end without failover).</param>
/// <param name="ActiveVirtualSystemsAfter">VSs Active on it at the end.</param>
/// <param name="PacketsAnswered">Packets whose verdicts it returned.</param>
/// <param name="ExitCode">Its exit code after the demo stopped it with SIGTERM (0 = it left the cluster gracefully); null for the killed member or one that did not exit in time.</param>
public sealed record MemberReport(string Name, int Port, bool Killed, int ActiveVirtualSystemsBefore, int ActiveVirtualSystemsAfter, long PacketsAnswered, int? ExitCode = null);

/// <summary>One virtual system in the demo report.</summary>
/// <param name="Id">VS id.</param>
/// <param name="Name">VS name.</param>
/// <param name="MemberBefore">Where it was Active before the kill.</param>
/// <param name="MemberAfter">Where it was Active at the end.</param>
/// <param name="FailedOver">Whether it was on the killed member.</param>
/// <param name="FailoverGapMs">For a failed-over VS: last packet accepted before the kill to first accepted after; null if it never came back.</param>
/// <param name="Connections">Connections in its table at the end.</param>
public sealed record VirtualSystemReport(int Id, string Name, string? MemberBefore, string? MemberAfter, bool FailedOver, double? FailoverGapMs, int Connections);

/// <summary>
/// What <c>vsls demo</c> measured. Packet counts are the VSs' verdicts as the driver received them;
/// connection counts are the traffic generator's view (which flows it opened through an accept
/// rule, and which of those were synced — immediate-sync once established, delayed-sync once older
/// than the VS's sync delay — with a 1 s margin for the journal write);
/// <see cref="ConnectionsLostOnFailover"/> counts the synced TCP/ICMP connections of the failed-over
/// VSs whose probe after the failover met an out-of-state drop.
/// </summary>
public sealed record DemoReport
{
    /// <summary>Members and what they carried.</summary>
    public required IReadOnlyList<MemberReport> Members { get; init; }
    /// <summary>Virtual systems and where they ran.</summary>
    public required IReadOnlyList<VirtualSystemReport> VirtualSystems { get; init; }
    /// <summary>Packets sent to the VSs.</summary>
    public long PacketsSent { get; init; }
    /// <summary>Packets the VSs accepted.</summary>
    public long PacketsAccepted { get; init; }
    /// <summary>Packets dropped or rejected by a policy rule.</summary>
    public long PolicyDrops { get; init; }
    /// <summary>Packets dropped because no connection existed for them.</summary>
    public long OutOfStateDrops { get; init; }
    /// <summary>Packets dropped at a VS's connection limit.</summary>
    public long OverLimitDrops { get; init; }
    /// <summary>Packets whose batch got no answer (sent to the killed member, or timed out during the failover).</summary>
    public long PacketsUnanswered { get; init; }
    /// <summary>Connections opened (flows accepted by a rule).</summary>
    public long ConnectionsOpened { get; init; }
    /// <summary>Connections that were synced (checkpointed or journaled).</summary>
    public long ConnectionsSynced { get; init; }
    /// <summary>Synced connections of the failed-over VSs that were probed after the failover.</summary>
    public long ConnectionsProbed { get; init; }
    /// <summary>Probed connections that met an out-of-state drop: lost on failover.</summary>
    public long ConnectionsLostOnFailover { get; init; }
    /// <summary>Probes that got no answer.</summary>
    public long ProbesUnanswered { get; init; }
    /// <summary>Per failed-over VS (key: VS id): the failover gap in milliseconds.</summary>
    public required IReadOnlyDictionary<string, double> FailoverGapMs { get; init; }
    /// <summary>The largest failover gap, or null without failover.</summary>
    public double? FailoverGapMsMax { get; init; }
    /// <summary>Answered packets per second over the traffic duration.</summary>
    public double ThroughputPps { get; init; }
    /// <summary>Traffic duration in seconds.</summary>
    public double DurationS { get; init; }
    /// <summary>Whether a member was killed.</summary>
    public bool Failover { get; init; }
    /// <summary>The member killed, or null.</summary>
    public string? KilledMember { get; init; }
    /// <summary>When it was killed, seconds from the start of traffic.</summary>
    public double? KilledAtS { get; init; }

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The report as snake_case JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, s_json);
}
