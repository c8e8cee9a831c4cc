using System.Net.Sockets;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Remote;
using VslsActors.Cluster.Hosting;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// Fast path for the commonest failure: a member process that died (crash, kill -9, OOM). Its kernel
/// closes its sockets, so the connection to it drops at once and a new TCP connection to its port is
/// refused. On a disassociation from a member, this actor probes the member's port; when every probe is
/// refused — no process listens there any more — and the members this one still reaches are a
/// majority (the keep-majority rule, so a minority never downs anybody), it downs the member at once
/// instead of waiting for the failure detector and the split-brain resolver's stable-after.
/// <para>A paused or overloaded process (GC, SIGSTOP, CPU starvation) keeps its listening socket: the
/// kernel still accepts connections, the probe succeeds, nothing is done, and the (deliberately
/// tolerant) failure detector decides as before. A network partition leaves connections hanging
/// (timeouts, not refusals): also left to the failure detector and SBR. A member restarted on the same
/// port answers the probe and is left alone. Settings: <c>vsls.placement.down-closed-members</c>.</para>
/// </summary>
public sealed class ClosedPortDowning : ReceiveActor
{
    private sealed record ProbeResult(UniqueAddress Member, bool Closed);

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<UniqueAddress> _probing = [];
    private readonly int _probes;
    private readonly int _attempts;
    private readonly TimeSpan _probeTimeout;
    private readonly TimeSpan _probeInterval;

    /// <summary>Props reading <c>vsls.placement.down-closed-members</c>; null when it is disabled.</summary>
    public static Props? PropsFromConfig(Akka.Configuration.Config config)
    {
        var section = "vsls.placement.down-closed-members";
        if (!config.GetBoolean(section + ".enabled", true))
            return null;
        var probes = Math.Max(1, config.GetInt(section + ".probes", 2));
        var timeout = config.GetTimeSpan(section + ".probe-timeout", TimeSpan.FromMilliseconds(300), allowInfinite: false);
        var interval = config.GetTimeSpan(section + ".probe-interval", TimeSpan.FromMilliseconds(100), allowInfinite: false);
        var window = config.GetTimeSpan(section + ".probe-window", TimeSpan.FromSeconds(2), allowInfinite: false);
        var attempts = Math.Max(probes, (int)(window.TotalMilliseconds / Math.Max(1, interval.TotalMilliseconds)));
        return Props.Create(() => new ClosedPortDowning(probes, attempts, timeout, interval));
    }

    /// <summary>Creates the actor (use <see cref="PropsFromConfig"/>).</summary>
    public ClosedPortDowning(int probes, int attempts, TimeSpan probeTimeout, TimeSpan probeInterval)
    {
        _probes = probes;
        _attempts = attempts;
        _probeTimeout = probeTimeout;
        _probeInterval = probeInterval;
        Receive<DisassociatedEvent>(OnDisassociated);
        Receive<ProbeResult>(OnProbed);
    }

    /// <inheritdoc />
    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(DisassociatedEvent));

    /// <inheritdoc />
    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void OnDisassociated(DisassociatedEvent e)
    {
        var member = Find(e.RemoteAddress);
        if (member is null || member.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed)
            return;
        if (!_probing.Add(member.UniqueAddress) || member.Address.Host is not { } host || member.Address.Port is not { } port)
            return;
        var who = member.UniqueAddress;
        Probe(host, port).PipeTo(Self, success: closed => new ProbeResult(who, closed), failure: _ => new ProbeResult(who, false));
    }

    private async Task<bool> Probe(string host, int port)
    {
        // A dying process may close its connections a moment before its listening socket, so a
        // successful connect is not conclusive until the probe window is over.
        var refusedInARow = 0;
        for (var i = 0; i < _attempts; i++)
        {
            if (i > 0)
                await Task.Delay(_probeInterval).ConfigureAwait(false);
            using var client = new TcpClient();
            using var cts = new CancellationTokenSource(_probeTimeout);
            try
            {
                await client.ConnectAsync(host, port, cts.Token).ConfigureAwait(false);
                refusedInARow = 0; // something listens (still, or again): keep watching
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
            {
                if (++refusedInARow >= _probes)
                    return true; // nothing listens on the port: the process is gone
            }
            catch (Exception)
            {
                return false; // timeout or other failure: a partition looks like this, leave it to the SBR
            }
        }
        return false;
    }

    private void OnProbed(ProbeResult r)
    {
        _probing.Remove(r.Member);
        if (!r.Closed)
            return;
        var state = _cluster.State;
        var member = state.Members.FirstOrDefault(m => m.UniqueAddress.Equals(r.Member));
        if (member is null || member.Status is MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed)
            return;
        // Keep-majority: only a side that still reaches a majority of the VS members may down anyone.
        var voters = state.Members.Where(m => m.HasRole(VslsClusterOptions.MemberRole)
                                              && m.Status is not (MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed)).ToList();
        var reachable = voters.Count(m => !m.UniqueAddress.Equals(r.Member) && !state.Unreachable.Contains(m));
        if (reachable * 2 <= voters.Count)
        {
            _log.Info("Member {Address} refuses connections, but this side reaches only {Reachable} of {Voters} members: leaving it to the split-brain resolver",
                member.Address, reachable, voters.Count);
            return;
        }
        _log.Warning("Member {Address} refuses connections (its process is gone): downing it without waiting for the failure detector", member.Address);
        _cluster.Down(member.Address);
        // The leader removes a Down member only once it is unreachable (or terminated): quarantining
        // the dead incarnation marks it terminated at once instead of after the failure detector's
        // ~1.7 s. Harmless for a process that is gone; a restarted member has a new uid.
        if (((ExtendedActorSystem)Context.System).Provider is IRemoteActorRefProvider remote)
            remote.Quarantine(member.Address, member.UniqueAddress.Uid);
    }

    private Member? Find(Address address)
    {
        var state = _cluster.State;
        return state.Members.FirstOrDefault(m => m.Address == address) ?? state.Unreachable.FirstOrDefault(m => m.Address == address);
    }
}
