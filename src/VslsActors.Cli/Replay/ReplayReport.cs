using System.Globalization;
using System.Text;
using System.Text.Json;
using VslsActors.Cluster.Export;
using VslsActors.Cluster.Protocol;

namespace VslsActors.Cli.Replay;

/// <summary>What <c>vsls replay</c> reports at the end (text, or JSON with <c>--json</c>; keys in docs/replay.md).</summary>
public sealed record ReplayReport
{
    /// <summary>How many frames had one issue kind, and the first of them.</summary>
    public sealed record IssueCount(string Kind, bool Bad, long Count, long FirstFrame, long FirstOffset);

    /// <summary>What stopped the reading of the file before its end.</summary>
    public sealed record Problem(string Kind, long Offset, string Detail);

    /// <summary>One VS's verdicts and table size.</summary>
    public sealed record VsReport(int Vs, string Name, VerdictCounts Verdicts, int Connections);

    /// <summary>The capture file.</summary>
    public required string File { get; init; }
    /// <summary><c>pcap</c> or <c>pcapng</c>.</summary>
    public required string Format { get; init; }
    /// <summary>Where the packets went.</summary>
    public required string Sink { get; init; }
    /// <summary>VS mapping.</summary>
    public VsMapping VsBy { get; init; }
    /// <summary>Speed factor, null = max.</summary>
    public double? Speed { get; init; }
    /// <summary>Frames read from the file.</summary>
    public long FramesRead { get; init; }
    /// <summary>Frames that decoded into IP packets.</summary>
    public long PacketsDecoded { get; init; }
    /// <summary>Packets sent to a VS.</summary>
    public long PacketsSent { get; init; }
    /// <summary>Decoded packets that mapped to no VS.</summary>
    public long UnknownVs { get; init; }
    /// <summary>Frames not replayed, by kind (bad ones and skipped ones).</summary>
    public required IReadOnlyList<IssueCount> Issues { get; init; }
    /// <summary>What stopped the reading early, or null.</summary>
    public Problem? CaptureProblem { get; init; }
    /// <summary>Per-VS verdicts.</summary>
    public required IReadOnlyList<VsReport> VirtualSystems { get; init; }
    /// <summary>Rows written to <see cref="OutFile"/>.</summary>
    public int ConnectionsWritten { get; init; }
    /// <summary>The connection table file, or null.</summary>
    public string? OutFile { get; init; }
    /// <summary>Capture time (UTC ticks) of the first packet sent.</summary>
    public long? FirstPacketTime { get; init; }
    /// <summary>Capture time (UTC ticks) of the last packet sent.</summary>
    public long? LastPacketTime { get; init; }
    /// <summary>The constant added to capture times (ticks).</summary>
    public long TimestampShiftTicks { get; init; }
    /// <summary>From the first frame read to the last reply (listing and writing the table not included).</summary>
    public double DurationS { get; init; }

    /// <summary>Packets sent per second of <see cref="DurationS"/>.</summary>
    public double PacketsPerSecond => DurationS > 0 ? PacketsSent / DurationS : 0;

    /// <summary>One line summarising the bad input, or null when there was none.</summary>
    public string? BadInput
    {
        get
        {
            var parts = new List<string>();
            if (CaptureProblem is { } p)
                parts.Add($"{p.Kind}: {p.Detail}; every frame before it was replayed");
            var bad = Issues.Where(i => i.Bad).ToList();
            if (bad.Count > 0)
            {
                var first = bad.MinBy(i => i.FirstFrame)!;
                parts.Add($"{bad.Sum(i => i.Count)} bad frames skipped ({string.Join(", ", bad.Select(i => $"{i.Count} {i.Kind}"))}), the first is frame {first.FirstFrame} at byte {first.FirstOffset} ({first.Kind})");
            }
            return parts.Count == 0 ? null : string.Join("; ", parts);
        }
    }

    /// <summary>The report as one JSON object.</summary>
    public string ToJson()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("file", File);
            w.WriteString("format", Format);
            w.WriteString("sink", Sink);
            w.WriteString("vs_by", VsBy.ToString().ToLowerInvariant());
            if (Speed is { } s)
                w.WriteNumber("speed", s);
            else
                w.WriteString("speed", "max");
            w.WriteNumber("frames_read", FramesRead);
            w.WriteNumber("packets_decoded", PacketsDecoded);
            w.WriteNumber("packets_sent", PacketsSent);
            w.WriteNumber("unknown_vs", UnknownVs);
            w.WriteStartObject("skipped");
            foreach (var i in Issues.Where(i => !i.Bad))
                w.WriteNumber(i.Kind, i.Count);
            w.WriteEndObject();
            w.WriteStartObject("bad");
            foreach (var i in Issues.Where(i => i.Bad))
            {
                w.WriteStartObject(i.Kind);
                w.WriteNumber("count", i.Count);
                w.WriteNumber("first_frame", i.FirstFrame);
                w.WriteNumber("first_offset", i.FirstOffset);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            if (CaptureProblem is { } p)
            {
                w.WriteStartObject("capture_problem");
                w.WriteString("kind", p.Kind);
                w.WriteNumber("offset", p.Offset);
                w.WriteString("detail", p.Detail);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("capture_problem");
            }
            w.WriteStartArray("virtual_systems");
            foreach (var v in VirtualSystems)
            {
                w.WriteStartObject();
                w.WriteNumber("vs", v.Vs);
                w.WriteString("name", v.Name);
                w.WriteNumber("accepted", v.Verdicts.Accepted);
                w.WriteNumber("policy_drop", v.Verdicts.PolicyDropped);
                w.WriteNumber("reject", v.Verdicts.Rejected);
                w.WriteNumber("out_of_state", v.Verdicts.OutOfState);
                w.WriteNumber("over_limit", v.Verdicts.OverLimit);
                // The kinds sum to over_limit (docs/limits.md).
                w.WriteNumber("over_limit_connections", v.Verdicts.OverConnectionLimit);
                w.WriteNumber("over_limit_packet_rate", v.Verdicts.OverPacketRate);
                w.WriteNumber("over_limit_new_connection_rate", v.Verdicts.OverNewConnectionRate);
                w.WriteNumber("over_limit_overload", v.Verdicts.Overload);
                w.WriteNumber("connections", v.Connections);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("connections_written", ConnectionsWritten);
            if (OutFile is null)
                w.WriteNull("out");
            else
                w.WriteString("out", OutFile);
            WriteTime(w, "first_packet_time", FirstPacketTime);
            WriteTime(w, "last_packet_time", LastPacketTime);
            w.WriteNumber("timestamp_shift_s", TimestampShiftTicks / (double)TimeSpan.TicksPerSecond);
            w.WriteNumber("duration_s", Math.Round(DurationS, 3));
            w.WriteNumber("packets_per_second", Math.Round(PacketsPerSecond));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteTime(Utf8JsonWriter w, string name, long? ticks)
    {
        if (ticks is { } t)
            w.WriteString(name, ConnectionTableJson.FormatTime(t));
        else
            w.WriteNull(name);
    }

    /// <summary>The report for a terminal.</summary>
    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(c, $"replay of {File} ({Format}) into {Sink}, VSs by {VsBy.ToString().ToLowerInvariant()}, speed {(Speed is { } s ? s.ToString(c) + "x" : "max")}");
        sb.AppendLine(c, $"  frames read      {FramesRead:N0}");
        sb.AppendLine(c, $"  packets decoded  {PacketsDecoded:N0}");
        sb.AppendLine(c, $"  packets sent     {PacketsSent:N0} in {DurationS:F2} s = {PacketsPerSecond:N0} packets/s");
        if (UnknownVs > 0)
            sb.AppendLine(c, $"  unknown VS       {UnknownVs:N0}");
        foreach (var i in Issues)
            sb.AppendLine(c, $"  {(i.Bad ? "bad" : "skipped")} {i.Kind,-22} {i.Count:N0} (first: frame {i.FirstFrame}, byte {i.FirstOffset})");
        if (CaptureProblem is { } p)
            sb.AppendLine(c, $"  reading stopped: {p.Kind}: {p.Detail}");
        foreach (var v in VirtualSystems)
        {
            var n = v.Verdicts;
            sb.AppendLine(c, $"  VS {v.Vs} ({v.Name}): accepted {n.Accepted:N0}, policy-drop {n.PolicyDropped:N0}, reject {n.Rejected:N0}, out-of-state {n.OutOfState:N0}, over-limit {n.OverLimit:N0}{(n.OverLimit > 0 ? $" (connections {n.OverConnectionLimit:N0}, packets/s {n.OverPacketRate:N0}, new-connections/s {n.OverNewConnectionRate:N0}, overload {n.Overload:N0})" : "")}; {v.Connections:N0} connections");
        }
        if (OutFile is not null)
            sb.AppendLine(c, $"  connections written to {OutFile}: {ConnectionsWritten:N0}");
        return sb.ToString();
    }
}
