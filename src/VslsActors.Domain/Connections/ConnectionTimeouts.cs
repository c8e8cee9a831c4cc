namespace VslsActors.Domain.Connections;

/// <summary>
/// Idle timeouts of a VS's connections, per protocol and phase. A connection that sees no
/// packet for its current timeout is expired. Defaults follow Check Point's gateway defaults:
/// TCP start 25 s (handshake not complete), TCP session 3600 s (established), TCP end 20 s
/// (after FIN or RST), UDP 40 s, ICMP 30 s, other IP protocols 60 s.
/// </summary>
public sealed record ConnectionTimeouts(
    TimeSpan TcpStart,
    TimeSpan TcpSession,
    TimeSpan TcpEnd,
    TimeSpan Udp,
    TimeSpan Icmp,
    TimeSpan Other)
{
    /// <summary>The documented defaults (25 s, 3600 s, 20 s, 40 s, 30 s, 60 s).</summary>
    public static ConnectionTimeouts Default { get; } = new(
        TcpStart: TimeSpan.FromSeconds(25),
        TcpSession: TimeSpan.FromSeconds(3600),
        TcpEnd: TimeSpan.FromSeconds(20),
        Udp: TimeSpan.FromSeconds(40),
        Icmp: TimeSpan.FromSeconds(30),
        Other: TimeSpan.FromSeconds(60));
}
