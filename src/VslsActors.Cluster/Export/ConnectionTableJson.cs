using System.Globalization;
using System.Text;
using System.Text.Json;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Cluster.Export;

/// <summary>
/// What happened to a connection's first packet, as the <c>verdict</c> column of the connection
/// table says it. Tracked connections are <see cref="Accept"/>; the others appear only where a
/// tool (replay) keeps the flows a VS refused.
/// </summary>
public enum ConnectionVerdict
{
    /// <summary>Accepted by a rule and tracked.</summary>
    Accept,
    /// <summary>Dropped by a policy rule (or the implicit cleanup rule).</summary>
    PolicyDrop,
    /// <summary>Rejected by a policy rule (the sender is told).</summary>
    Reject,
    /// <summary>A packet that opens no connection (a TCP non-SYN) with no connection to belong to.</summary>
    OutOfState,
    /// <summary>Refused because the VS was at its connection limit.</summary>
    OverLimit,
}

/// <summary>
/// The connection table as JSON lines, one connection per line: the format of <c>vsls replay --out</c>,
/// of a live VS's export and of <c>vsls ctl conn list --json</c>, documented in
/// <c>docs/connection-table.md</c>. Field names follow Zeek's <c>conn.log</c> where it has one.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>orig_*</c> is the initiator (the side that sent the first packet), <c>resp_*</c> the other side.</item>
/// <item>Bytes are IP-level: the sum of each packet's IP length (IPv4 total length, IPv6 payload
/// length + 40), as Zeek's <c>orig_ip_bytes</c> counts them.</item>
/// <item>Ports: TCP/UDP ports; the echo identifier on both sides for ICMP echo; 0 otherwise.</item>
/// <item>Times: ISO 8601 UTC with 100 ns precision (<c>2026-11-26T15:11:25.1234567Z</c>).</item>
/// </list>
/// </remarks>
public static class ConnectionTableJson
{
    /// <summary>The <c>verdict</c> text of <paramref name="verdict"/>.</summary>
    public static string Name(this ConnectionVerdict verdict) => verdict switch
    {
        ConnectionVerdict.Accept => "accept",
        ConnectionVerdict.PolicyDrop => "policy-drop",
        ConnectionVerdict.Reject => "reject",
        ConnectionVerdict.OutOfState => "out-of-state",
        ConnectionVerdict.OverLimit => "over-limit",
        _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict, null),
    };

    /// <summary>Writes one connection as one JSON object (the caller writes the line break).</summary>
    public static void Write(Utf8JsonWriter writer, VsId vs, ConnectionRecord connection, ConnectionVerdict verdict = ConnectionVerdict.Accept)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(connection);
        var key = connection.Key;
        var state = connection.State;
        writer.WriteStartObject();
        writer.WriteNumber("vs", vs.Value);
        writer.WriteString("proto", key.Protocol.Name());
        writer.WriteString("orig_h", key.Originator.Address.ToString());
        writer.WriteNumber("orig_p", key.Originator.Port);
        writer.WriteString("resp_h", key.Responder.Address.ToString());
        writer.WriteNumber("resp_p", key.Responder.Port);
        writer.WriteNumber("orig_pkts", state.OrigPackets);
        writer.WriteNumber("orig_bytes", state.OrigBytes);
        writer.WriteNumber("resp_pkts", state.RespPackets);
        writer.WriteNumber("resp_bytes", state.RespBytes);
        writer.WriteString("state", state.Phase.StateName());
        writer.WriteString("first_seen", FormatTime(state.FirstSeen));
        writer.WriteString("last_seen", FormatTime(state.LastSeen));
        writer.WriteString("verdict", verdict.Name());
        writer.WriteString("rule", connection.RuleName);
        writer.WriteEndObject();
    }

    /// <summary>One connection as one line of JSON (no line break).</summary>
    public static string Line(VsId vs, ConnectionRecord connection, ConnectionVerdict verdict = ConnectionVerdict.Accept)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
            Write(writer, vs, connection, verdict);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>UTC ticks as ISO 8601 (<c>O</c> format, always ending in <c>Z</c>).</summary>
    public static string FormatTime(long utcTicks) =>
        new DateTime(Math.Clamp(utcTicks, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads one line written by <see cref="Write"/> back (what a client of a live member's export gets).
    /// The sync mode and the FIN flags are not in the format: the record has <see cref="SyncMode.None"/>
    /// and no FIN seen. Returns false with <paramref name="problem"/> naming the field on a malformed line.
    /// </summary>
    public static bool TryRead(string line, out VsId vs, out ConnectionRecord? connection, out ConnectionVerdict verdict, out string? problem)
    {
        vs = default;
        connection = null;
        verdict = ConnectionVerdict.Accept;
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            string field = "vs";
            try
            {
                vs = new VsId(root.GetProperty(field).GetInt32());
                field = "proto";
                if (!IpProtocolNames.TryParse(root.GetProperty(field).GetString() ?? "", out var protocol))
                    throw new FormatException("unknown protocol");
                field = "orig_h";
                var origHost = NetAddress.Parse(root.GetProperty(field).GetString() ?? "");
                field = "orig_p";
                var origPort = root.GetProperty(field).GetUInt16();
                field = "resp_h";
                var respHost = NetAddress.Parse(root.GetProperty(field).GetString() ?? "");
                field = "resp_p";
                var respPort = root.GetProperty(field).GetUInt16();
                field = "state";
                if (!ConnectionPhases.TryParseStateName(root.GetProperty(field).GetString(), out var phase))
                    throw new FormatException("unknown state");
                field = "first_seen";
                var firstSeen = ParseTime(root.GetProperty(field).GetString());
                field = "last_seen";
                var lastSeen = ParseTime(root.GetProperty(field).GetString());
                field = "verdict";
                var verdictText = root.GetProperty(field).GetString();
                verdict = Enum.GetValues<ConnectionVerdict>().FirstOrDefault(v => v.Name() == verdictText, (ConnectionVerdict)(-1));
                if ((int)verdict < 0)
                    throw new FormatException("unknown verdict");
                var state = ConnectionState.Restore(phase, protocol, false, false,
                    root.GetProperty(field = "orig_pkts").GetInt64(), root.GetProperty(field = "orig_bytes").GetInt64(),
                    root.GetProperty(field = "resp_pkts").GetInt64(), root.GetProperty(field = "resp_bytes").GetInt64(),
                    firstSeen, lastSeen);
                field = "rule";
                var rule = root.TryGetProperty(field, out var r) ? r.GetString() ?? "" : "";
                connection = new ConnectionRecord(Domain.Flows.FlowKey.ForFirstPacket(origHost, origPort, respHost, respPort, protocol), state, SyncMode.None, rule);
                problem = null;
                return true;
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                problem = $"field '{field}': {(e is KeyNotFoundException ? "missing" : e.Message)}";
                return false;
            }
        }
        catch (JsonException e)
        {
            problem = "not JSON: " + e.Message;
            return false;
        }
    }

    private static long ParseTime(string? text) =>
        DateTime.ParseExact(text ?? "", "O", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal).Ticks;
}
