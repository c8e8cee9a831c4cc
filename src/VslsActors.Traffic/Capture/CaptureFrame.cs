namespace VslsActors.Traffic.Capture;

/// <summary>
/// Link types (LINKTYPE_* numbers of pcap and pcapng) that <see cref="PacketDecoder"/> decodes.
/// Any other link type is counted as <see cref="CaptureIssue.UnknownLinkType"/>.
/// </summary>
public static class LinkTypes
{
    /// <summary>BSD loopback: a 4-byte address family in the capturing host's byte order.</summary>
    public const int Null = 0;
    /// <summary>Ethernet II (with or without 802.1Q tags).</summary>
    public const int Ethernet = 1;
    /// <summary>Raw IP (the version nibble says IPv4 or IPv6).</summary>
    public const int Raw = 101;
    /// <summary>OpenBSD loopback: like <see cref="Null"/> but the family is in network byte order.</summary>
    public const int Loop = 108;
    /// <summary>Linux cooked capture v1 (<c>tcpdump -i any</c>).</summary>
    public const int LinuxSll = 113;
    /// <summary>Raw IPv4.</summary>
    public const int IPv4 = 228;
    /// <summary>Raw IPv6.</summary>
    public const int IPv6 = 229;
    /// <summary>Linux cooked capture v2.</summary>
    public const int LinuxSll2 = 276;
}

/// <summary>
/// One captured frame as a capture file holds it: when it was seen (UTC ticks), on which link
/// type, and its bytes. <see cref="Data"/> points into the reader's buffer and is valid only until
/// the reader's next <see cref="CaptureReader.TryRead"/>; copy it to keep it.
/// </summary>
/// <param name="Timestamp">Capture time in UTC ticks (100 ns units since 0001-01-01).</param>
/// <param name="LinkType">LINKTYPE_* of the interface the frame was captured on (<see cref="LinkTypes"/>).</param>
/// <param name="Data">The captured bytes (at most the snapshot length).</param>
/// <param name="OriginalLength">The frame's length on the wire (more than <c>Data.Count</c> when the snapshot length cut it).</param>
/// <param name="Number">1-based position of the frame in the file, as Wireshark numbers frames.</param>
/// <param name="Offset">Byte offset of the frame's record (or block) in the file.</param>
public readonly record struct CaptureFrame(long Timestamp, int LinkType, ArraySegment<byte> Data, int OriginalLength, long Number, long Offset);

/// <summary>
/// What can be wrong with a capture or one of its frames, or why a frame is not replayed. Each
/// kind is counted by the replay and reported at the end (see <c>docs/replay.md</c>).
/// </summary>
public enum CaptureIssue : byte
{
    /// <summary>No issue: the frame decoded into a packet.</summary>
    None = 0,

    // ---- file level: reading stops here; everything before it was delivered.

    /// <summary>The file starts with neither a pcap magic nor a pcapng section header.</summary>
    NotACapture,
    /// <summary>The file ends in the middle of a record or block.</summary>
    TruncatedCapture,
    /// <summary>A record or block length that cannot be right (too small, not a multiple of 4, or absurdly large): nothing after it can be found.</summary>
    CorruptRecord,

    // ---- frame level: this frame is counted and skipped; reading goes on.

    /// <summary>The frame's link type is not one of <see cref="LinkTypes"/>, or a pcapng packet names an interface that was never described.</summary>
    UnknownLinkType,
    /// <summary>The frame is too short for its link-layer or IP header.</summary>
    TruncatedFrame,
    /// <summary>An IPv4 header length (IHL) below 20 bytes, past the captured bytes or past the total length; or an IP version that contradicts the link layer.</summary>
    BadIpHeaderLength,
    /// <summary>A TCP data offset below 20 bytes or a TCP header that runs past the frame.</summary>
    TcpHeaderPastFrame,
    /// <summary>PacketDotNet could not decode the frame (it threw).</summary>
    Undecodable,

    // ---- not bad, just not replayed: counted as skipped.

    /// <summary>A frame that carries no IP packet (ARP, LLDP, …).</summary>
    NotIp,
    /// <summary>A non-first IP fragment: it has no transport header to key a flow by.</summary>
    IpFragment,
}

/// <summary>Names and classes of <see cref="CaptureIssue"/>.</summary>
public static class CaptureIssues
{
    /// <summary>The kind's name in reports: <c>truncated-capture</c>, <c>bad-ip-header-length</c>, …</summary>
    public static string Name(this CaptureIssue issue) => issue switch
    {
        CaptureIssue.None => "none",
        CaptureIssue.NotACapture => "not-a-capture",
        CaptureIssue.TruncatedCapture => "truncated-capture",
        CaptureIssue.CorruptRecord => "corrupt-record",
        CaptureIssue.UnknownLinkType => "unknown-link-type",
        CaptureIssue.TruncatedFrame => "truncated-frame",
        CaptureIssue.BadIpHeaderLength => "bad-ip-header-length",
        CaptureIssue.TcpHeaderPastFrame => "tcp-header-past-frame",
        CaptureIssue.Undecodable => "undecodable",
        CaptureIssue.NotIp => "not-ip",
        CaptureIssue.IpFragment => "ip-fragment",
        _ => ((int)issue).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Whether the kind means bad input (as opposed to a frame that is fine but not replayed).</summary>
    public static bool IsBad(this CaptureIssue issue) => issue is not (CaptureIssue.None or CaptureIssue.NotIp or CaptureIssue.IpFragment);
}
