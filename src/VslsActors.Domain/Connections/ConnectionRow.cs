using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Domain.Connections;

/// <summary>
/// One row of a VS's connection table as a <see cref="ConnectionFilter"/> sees it: the columns of
/// the JSON-lines table (<c>docs/connection-table.md</c>) that a filter can name, already taken
/// apart, so evaluating a filter reads fields and never formats or parses text.
/// </summary>
/// <param name="Vs">Column <c>vs</c>.</param>
/// <param name="Protocol">Column <c>proto</c>.</param>
/// <param name="OrigHost">Column <c>orig_h</c>: the initiator's address.</param>
/// <param name="OrigPort">Column <c>orig_p</c>: the initiator's port (echo id for ICMP echo, 0 for other non-port protocols).</param>
/// <param name="RespHost">Column <c>resp_h</c>: the responder's address.</param>
/// <param name="RespPort">Column <c>resp_p</c>.</param>
/// <param name="OrigPackets">Column <c>orig_pkts</c>.</param>
/// <param name="OrigBytes">Column <c>orig_bytes</c> (IP-level bytes).</param>
/// <param name="RespPackets">Column <c>resp_pkts</c>.</param>
/// <param name="RespBytes">Column <c>resp_bytes</c>.</param>
/// <param name="Phase">Column <c>state</c> (written as <see cref="ConnectionPhases.StateName"/>).</param>
/// <param name="Rule">Column <c>rule</c>: the name of the rule that accepted the connection.</param>
public readonly record struct ConnectionRow(
    VsId Vs,
    IpProtocol Protocol,
    NetAddress OrigHost,
    ushort OrigPort,
    NetAddress RespHost,
    ushort RespPort,
    long OrigPackets,
    long OrigBytes,
    long RespPackets,
    long RespBytes,
    ConnectionPhase Phase,
    string Rule)
{
    /// <summary>
    /// The row of a tracked connection, from what a VS keeps for it (the cluster's
    /// <c>ConnectionRecord</c> carries exactly these three parts).
    /// </summary>
    public static ConnectionRow From(VsId vs, in FlowKey key, in ConnectionState state, string rule)
    {
        var orig = key.Originator;
        var resp = key.Responder;
        return new ConnectionRow(
            vs, key.Protocol, orig.Address, orig.Port, resp.Address, resp.Port,
            state.OrigPackets, state.OrigBytes, state.RespPackets, state.RespBytes, state.Phase, rule ?? "");
    }
}
