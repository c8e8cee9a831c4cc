using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VslsActors.Cluster.Hosting;
using VslsActors.Domain.Configuration;

namespace VslsActors.Node;

/// <summary>Exit codes of <c>vsls node</c>.</summary>
public static class NodeExitCodes
{
    /// <summary>The member stopped after a graceful leave (SIGTERM, Ctrl+C, or cancellation).</summary>
    public const int Ok = 0;
    /// <summary>The member started but failed while running, or could not start Akka (see its log).</summary>
    public const int Failed = 1;
    /// <summary>Bad input found before Akka started: options, topology, port, database.</summary>
    public const int BadInput = 2;
    /// <summary>The cluster removed this member (downed by the split-brain resolver, or it could not join, or a TLS handshake failed).</summary>
    public const int RemovedFromCluster = 3;
}

/// <summary>
/// Runs one member: pre-flight checks (<see cref="NodePreflight"/>), then Akka.Hosting in a generic host
/// (<see cref="VslsHostFactory"/>) until SIGTERM, Ctrl+C or <c>cancellationToken</c>. Every failure an
/// operator can fix is one line on <c>error</c>; the return value is a <see cref="NodeExitCodes"/> code.
/// </summary>
public static class NodeHost
{
    /// <summary>Checks, starts and runs the member; returns its exit code.</summary>
    public static async Task<int> RunAsync(VslsNodeOptions options, TextWriter error, CancellationToken cancellationToken)
    {
        VslsClusterOptions cluster;
        try
        {
            cluster = await PrepareAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (NodeStartupException e)
        {
            await error.WriteLineAsync($"vsls node: {e.Message}").ConfigureAwait(false);
            return NodeExitCodes.BadInput;
        }

        // The system is captured at start-up: the shutdown reason is read after the host stopped.
        ActorSystem? system = null;
        using var host = VslsHostFactory.Build(cluster, configureAkka: akka => akka.AddStartup((s, _) => system = s), ingress: options.Ingress, management: options.Management);
        var started = false;
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            started = true;
        }
        catch (Exception) when (host.Services.GetService<ActorSystem>() is { } stopping && CoordinatedShutdown.Get(stopping).ShutdownReason is not null)
        {
            // The ActorSystem began to stop while the host was still starting (a TLS handshake that fails at
            // the first join attempt does that), so starting the VSLS actors threw. The shutdown reason,
            // read below, is the line to print; the exception is only its echo.
            system = stopping;
            await system.WhenTerminated.WaitAsync(VslsHostFactory.ShutdownTimeout, CancellationToken.None).ConfigureAwait(false);
        }
        if (started)
            await host.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);

        if (system is null)
        {
            // Akka.Hosting logs the cause and stops the host; it would otherwise exit 0.
            await error.WriteLineAsync($"vsls node: member {options.Member} could not start (the cause is in the log above)").ConfigureAwait(false);
            return NodeExitCodes.Failed;
        }
        var reason = CoordinatedShutdown.Get(system).ShutdownReason;
        switch (reason)
        {
            case CoordinatedShutdown.ClusterDowningReason:
                await error.WriteLineAsync($"vsls node: member {options.Member} was downed by the cluster (unreachable too long, or on the minority side of a partition)").ConfigureAwait(false);
                return NodeExitCodes.RemovedFromCluster;
            // Akka.Remote 1.5.73 (DotNetty TcpClientHandler) runs CoordinatedShutdown when a TLS handshake it
            // started fails: the peer refused our certificate, or we refused its. The reason type is internal.
            case not null when reason.GetType().Name == "TlsHandshakeFailureReason":
                var why = cluster.Tls?.Refusals.Last is { } refused
                    ? refused
                    : "one of the two certificates is not accepted by the other; the log above says which and why";
                await error.WriteLineAsync($"vsls node: member {options.Member} stopped: a TLS handshake with another member failed ({why})").ConfigureAwait(false);
                return NodeExitCodes.RemovedFromCluster;
            case CoordinatedShutdown.ClusterJoinUnsuccessfulReason:
                await error.WriteLineAsync($"vsls node: member {options.Member} could not join the cluster through its seeds ({string.Join(", ", options.SeedAddresses())})").ConfigureAwait(false);
                return NodeExitCodes.RemovedFromCluster;
            default:
                return NodeExitCodes.Ok;
        }
    }

    /// <summary>
    /// The pre-flight: topology, member name, port, extra HOCON, database, ingress port; then the cluster options.
    /// </summary>
    /// <exception cref="NodeStartupException">Any check fails.</exception>
    public static async Task<VslsClusterOptions> PrepareAsync(VslsNodeOptions options, CancellationToken cancellationToken)
    {
        var topology = NodePreflight.LoadTopology(options.TopologyPath);
        NodePreflight.CheckMember(topology, options.Member, options.TopologyPath);
        // Before the port and the database: a bad certificate is the operator's mistake to fix first, and nothing is bound yet.
        var tls = NodePreflight.LoadTls(options.Tls, DateTime.UtcNow);
        NodePreflight.CheckSeedSchemes(options.SeedAddresses(), tls is not null);
        NodePreflight.CheckPort(options.Host, options.Port);
        string? extraHocon = null;
        if (options.ConfigPath is { } configPath)
        {
            try
            {
                extraHocon = HoconReader.ReadFile(configPath);
            }
            catch (ConfigException e)
            {
                throw new NodeStartupException($"config: {e.Message}");
            }
            // vsls.overload is read when the member starts its actors: an unusable value is refused here,
            // before anything is bound or started, instead of failing a started member.
            try
            {
                VslsActors.Cluster.Overload.OverloadMonitorSettings.FromConfig(Akka.Configuration.ConfigurationFactory.ParseString(extraHocon).WithFallback(VslsHocon.Load("overload.conf")));
            }
            catch (Exception e) when (e is ArgumentException or Akka.Configuration.ConfigurationException or FormatException)
            {
                throw new NodeStartupException($"{configPath}: {e.Message}");
            }
        }
        await NodePreflight.CheckDatabaseAsync(options.Database, TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        // Kestrel's own bind failure would surface as a stack trace after Akka started; checked here instead.
        if (options.Ingress is { Port: > 0 } ingress)
            NodePreflight.CheckPort(ingress.Address.ToString(), ingress.Port, "--ingress");
        if (options.Management is { Enabled: true } api)
            NodePreflight.CheckPort(api.Address.ToString(), api.Port, "--api");
        return new VslsClusterOptions
        {
            Member = options.Member,
            Host = options.Host,
            Port = options.Port,
            SeedNodes = options.SeedAddresses(),
            Topology = topology,
            Database = options.Database,
            HostsVirtualSystems = true,
            ExtraHocon = extraHocon,
            Tls = tls,
        };
    }
}
