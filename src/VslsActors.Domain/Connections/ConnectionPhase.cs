namespace VslsActors.Domain.Connections;

/// <summary>
/// Where a connection is in its protocol's life. The phase alone decides which idle timeout
/// applies (see <see cref="ConnectionStateMachine.IdleTimeout"/>).
/// </summary>
public enum ConnectionPhase : byte
{
    /// <summary>TCP: the originator's SYN seen, no SYN-ACK yet.</summary>
    TcpSynSent = 1,
    /// <summary>TCP: the responder's SYN-ACK seen, the originator's final ACK not yet.</summary>
    TcpSynReceived = 2,
    /// <summary>TCP: three-way handshake complete, neither side has sent FIN.</summary>
    TcpEstablished = 3,
    /// <summary>TCP: one side has sent FIN (half close); the other side may still send data.</summary>
    TcpHalfClosed = 4,
    /// <summary>TCP: both sides have sent FIN. Late ACKs are accepted until the TCP end timeout.</summary>
    TcpClosed = 5,
    /// <summary>TCP: a RST was seen from either side. Late packets are accepted until the TCP end timeout.</summary>
    TcpReset = 6,

    /// <summary>UDP: datagrams seen from the originator only.</summary>
    UdpNew = 10,
    /// <summary>UDP: the responder has answered (the pseudo-session is established).</summary>
    UdpReplied = 11,

    /// <summary>
    /// ICMP/ICMPv6: an echo request seen and no reply yet (for non-echo messages, which are
    /// tracked by address pair: the first message seen and nothing back yet).
    /// </summary>
    IcmpRequested = 20,
    /// <summary>ICMP/ICMPv6: the responder has answered (echo reply, or any message back for non-echo).</summary>
    IcmpAnswered = 21,

    /// <summary>Other IP protocol: packets seen from the originator only.</summary>
    OtherNew = 30,
    /// <summary>Other IP protocol: the responder has sent a packet back.</summary>
    OtherReplied = 31,
}

/// <summary>Questions about a <see cref="ConnectionPhase"/>.</summary>
public static class ConnectionPhases
{
    /// <summary>
    /// Whether the connection is closed (TCP after both FINs or a RST). A closed connection stays
    /// in the table only until the TCP end timeout, and only a new SYN reopens it.
    /// </summary>
    public static bool IsClosed(this ConnectionPhase phase) =>
        phase is ConnectionPhase.TcpClosed or ConnectionPhase.TcpReset;

    /// <summary>
    /// Whether the connection is established: the TCP handshake completed and it is not closed
    /// (a half-closed connection still is), or the responder of a UDP, ICMP or other-IP
    /// pseudo-session has answered.
    /// </summary>
    public static bool IsEstablished(this ConnectionPhase phase) =>
        phase is ConnectionPhase.TcpEstablished or ConnectionPhase.TcpHalfClosed
            or ConnectionPhase.UdpReplied or ConnectionPhase.IcmpAnswered or ConnectionPhase.OtherReplied;

    /// <summary>Whether the phase belongs to the TCP state machine.</summary>
    public static bool IsTcp(this ConnectionPhase phase) =>
        phase is >= ConnectionPhase.TcpSynSent and <= ConnectionPhase.TcpReset;

    /// <summary>
    /// The phase as the connection table's <c>state</c> column writes it: the enum name in
    /// kebab case (<c>TcpEstablished</c> → <c>tcp-established</c>); the number for a value the
    /// enum does not name. Lives here, next to the enum, so that the filter language and the
    /// table agree on one spelling.
    /// </summary>
    public static string StateName(this ConnectionPhase phase)
    {
        foreach (var (p, name) in s_stateNames)
        {
            if (p == phase)
                return name;
        }
        return ((int)phase).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Parses a <see cref="StateName"/> (ordinal, case-insensitive).</summary>
    public static bool TryParseStateName(string? text, out ConnectionPhase phase)
    {
        foreach (var (p, name) in s_stateNames)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                phase = p;
                return true;
            }
        }
        phase = default;
        return false;
    }

    /// <summary>Every named phase's <see cref="StateName"/>, in enum order (for messages).</summary>
    public static IEnumerable<string> StateNames => s_stateNames.Select(static s => s.Name);

    private static readonly (ConnectionPhase Phase, string Name)[] s_stateNames =
        Enum.GetValues<ConnectionPhase>().Select(static p => (p, Kebab(p.ToString()))).ToArray();

    private static string Kebab(string pascal)
    {
        var sb = new System.Text.StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (char.IsUpper(pascal[i]) && i > 0)
                sb.Append('-');
            sb.Append(char.ToLowerInvariant(pascal[i]));
        }
        return sb.ToString();
    }
}
