using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using VslsActors.Domain;
using VslsActors.MultiNode.Network;

namespace VslsActors.MultiNode.Specs.Network;

/// <summary>
/// The network lab itself, with real sockets in real namespaces: members reach each other over the
/// bridge, a partition drops (not refuses) their packets, heal restores them, and nothing is left
/// behind. Needs root, like the partition spec; without it each test fails with the lab's reason.
/// </summary>
public sealed class NetworkLabTests
{
    private const int Port = 7001;
    private static readonly TimeSpan DropWait = TimeSpan.FromSeconds(1.5);
    private static readonly MemberName M1 = new("member-1");
    private static readonly MemberName M2 = new("member-2");
    private static readonly MemberName M3 = new("member-3");

    [Fact]
    public async Task A_partition_drops_packets_between_the_groups_in_both_directions_and_heal_restores_them()
    {
        await using var lab = await NetworkLab.CreateAsync([M1, M2, M3]);
        using var listen1 = Listen(lab[M1]);
        using var listen3 = Listen(lab[M3]);

        await AssertConnects(lab[M3], lab[M1]);
        await AssertConnects(lab[M1], lab[M3]);
        await AssertConnects(lab[M2], lab[M1]);
        await AssertConnectsFromTestProcess(lab[M1]);

        await lab.PartitionAsync([M1, M2], [M3]);
        await AssertDropped(lab[M3], lab[M1], Port);
        await AssertDropped(lab[M1], lab[M3], Port);
        // A port nobody listens on would answer with a reset if anything got through: silence proves a drop.
        await AssertDropped(lab[M3], lab[M2], Port + 1);
        await AssertConnects(lab[M2], lab[M1]); // the majority side still reaches itself
        await AssertConnectsFromTestProcess(lab[M1]); // and the test process reaches both sides
        await AssertConnectsFromTestProcess(lab[M3]);
        Assert.Equal(2, (await lab.DropRulesAsync(M3)).Count);
        Assert.Single(await lab.DropRulesAsync(M1));

        await lab.HealAsync();
        Assert.Empty(lab.ActiveRules);
        foreach (var m in lab.Members)
            Assert.Empty(await lab.DropRulesAsync(m.Name));
        await AssertConnects(lab[M3], lab[M1]);
        await AssertConnects(lab[M1], lab[M3]);
        await AssertRefused(lab[M3], lab[M2], Port + 1);
    }

    [Fact]
    public async Task Dispose_leaves_no_namespace_link_rule_or_owner_record_behind_even_while_partitioned()
    {
        var lab = await NetworkLab.CreateAsync([M1, M2]);
        var runId = lab.RunId;
        await lab.PartitionAsync([M1], [M2]);
        Assert.Contains(runId, await Run("ip", "netns", "list"));
        Assert.Contains("vslb" + runId, await Run("ip", "-o", "link", "show"));

        await lab.DisposeAsync();

        Assert.DoesNotContain(runId, await Run("ip", "netns", "list"));
        Assert.DoesNotContain(runId, await Run("ip", "-o", "link", "show"));
        Assert.DoesNotContain(runId, await Run("iptables", "-S")); // the root namespace never held a rule either
        Assert.False(File.Exists(Path.Combine(NetworkLab.StateDirectory, runId + ".owner")));
    }

    [Fact]
    public async Task A_new_lab_reaps_the_leftovers_of_a_run_whose_process_died_and_leaves_live_labs_alone()
    {
        var crashed = await NetworkLab.CreateAsync([M1, M2]);
        await using var live = await NetworkLab.CreateAsync([M1]);
        // Make the first lab look like the remains of a killed test run: its owner record names a process that has exited.
        using (var gone = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            await gone.WaitForExitAsync();
            await File.WriteAllTextAsync(Path.Combine(NetworkLab.StateDirectory, crashed.RunId + ".owner"), $"{gone.Id} 1 {crashed.Subnet}");
        }

        await using var next = await NetworkLab.CreateAsync([M1]);

        Assert.Empty(await NetworkLab.LeftoversAsync(crashed.RunId));
        Assert.Contains(live.RunId, await Run("ip", "netns", "list"));
        Assert.NotEqual(live.Subnet, next.Subnet);
    }

    [Fact]
    public void Without_root_the_lab_refuses_at_once_saying_what_it_would_create_and_that_ci_runs_as_root()
    {
        var reason = NetworkLabRequirements.WhyNot(isLinux: true, effectiveUid: 1000, tool => "/usr/sbin/" + tool);

        Assert.NotNull(reason);
        Assert.Contains("needs root", reason);
        Assert.Contains("uid 1000", reason);
        Assert.Contains("network namespaces", reason);
        Assert.Contains("iptables DROP rules", reason);
        Assert.Contains(".ci/run", reason);
        Assert.Contains("`iptables`", NetworkLabRequirements.WhyNot(true, 0, tool => tool == "ip" ? "/usr/sbin/ip" : null));
        Assert.Null(NetworkLabRequirements.WhyNot(true, 0, tool => "/usr/sbin/" + tool));
    }

    private static Socket Listen(LabMember member)
    {
        var socket = NamespaceSockets.CreateTcp(member.Namespace);
        socket.Bind(new IPEndPoint(member.Address, Port));
        socket.Listen(16);
        return socket;
    }

    private static async Task AssertConnects(LabMember from, LabMember to)
    {
        using var client = NamespaceSockets.CreateTcp(from.Namespace);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(new IPEndPoint(to.Address, Port), cts.Token);
        Assert.True(client.Connected, $"{from.Name} -> {to.Name}");
    }

    private static async Task AssertConnectsFromTestProcess(LabMember to)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await client.ConnectAsync(new IPEndPoint(to.Address, Port), cts.Token);
        Assert.True(client.Connected, $"test process -> {to.Name}");
    }

    /// <summary>The connect neither completes nor is refused within <see cref="DropWait"/>: the SYNs vanish.</summary>
    private static async Task AssertDropped(LabMember from, LabMember to, int port)
    {
        using var client = NamespaceSockets.CreateTcp(from.Namespace);
        using var cts = new CancellationTokenSource(DropWait);
        var connect = client.ConnectAsync(new IPEndPoint(to.Address, port), cts.Token).AsTask();
        var outcome = await Record.ExceptionAsync(() => connect);
        Assert.True(outcome is OperationCanceledException,
            $"{from.Name} -> {to.Name}:{port} during the partition: expected the connect to time out, got {outcome?.GetType().Name ?? "a connection"} {outcome?.Message}");
    }

    private static async Task AssertRefused(LabMember from, LabMember to, int port)
    {
        using var client = NamespaceSockets.CreateTcp(from.Namespace);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var outcome = await Record.ExceptionAsync(() => client.ConnectAsync(new IPEndPoint(to.Address, port), cts.Token).AsTask());
        Assert.True(outcome is SocketException { SocketErrorCode: SocketError.ConnectionRefused },
            $"{from.Name} -> {to.Name}:{port} after heal: expected refused, got {outcome?.GetType().Name ?? "a connection"} {outcome?.Message}");
    }

    private static async Task<string> Run(string tool, params string[] arguments) =>
        await HostCommand.RunAsync(NetworkLabRequirements.ToolPath(tool) ?? tool, arguments);
}
