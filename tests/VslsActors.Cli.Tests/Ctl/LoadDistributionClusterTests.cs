using System.Net;
using System.Text.Json;
using Akka.Actor;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Placement;
using VslsActors.TestSupport;
using Xunit.Abstractions;

namespace VslsActors.Cli.Tests.Ctl;

/// <summary>
/// <c>dist advise --by load</c> and <c>dist equal --by load</c> against three real in-process members
/// with skewed traffic sent through a shard region: the VSs Active on member-1 carry most packets.
/// </summary>
[Collection("ctl cluster")]
public sealed class LoadDistributionClusterTests(ManagedCluster cluster, ITestOutputHelper output) : IClassFixture<ManagedCluster>
{
    /// <summary>Packets per VS per 100 ms tick: VS 1 and 8 (Active on member-1 in the sample topology) carry most.</summary>
    private static readonly Dictionary<int, int> PacketsPerTick = new() { [1] = 40, [8] = 30, [4] = 8 };

    private string Endpoint => cluster.Api["member-2"];

    private Task<CliRun.Result> Ctl(params string[] args) =>
        CliRun.InProcessAsync(["ctl", "-e", Endpoint, "--token", ManagedCluster.Secret, .. args]);

    private async Task<string> ExportAsync()
    {
        using var http = ManagedCluster.Client(Endpoint, ManagedCluster.Secret);
        return await http.GetStringAsync("dist/export");
    }

    /// <summary>Where each VS is Active now, by the management API's placement.</summary>
    private async Task<Dictionary<int, string>> ActivesAsync()
    {
        var dist = await ManagedCluster.GetJsonAsync(Endpoint, "dist");
        return dist.GetProperty("vss").EnumerateArray().ToDictionary(v => v.GetProperty("vs").GetInt32(), v => v.GetProperty("active").GetString()!);
    }

    private static Dictionary<int, double> Loads(JsonElement body) =>
        body.GetProperty("loads").EnumerateArray().ToDictionary(l => l.GetProperty("vs").GetInt32(), l => l.GetProperty("load").GetDouble());

    /// <summary>Largest minus smallest Active load over the three members.</summary>
    private static double Spread(Dictionary<int, string> actives, Dictionary<int, double> loads)
    {
        var perMember = new[] { "member-1", "member-2", "member-3" }.Select(m => actives.Where(a => a.Value == m).Sum(a => loads[a.Key])).ToArray();
        return perMember.Max() - perMember.Min();
    }

    /// <summary>Every VS has measured packets in its window (after a move a VS starts a new window).</summary>
    private async Task<bool> EveryVsMeasuredAsync()
    {
        var loads = await ManagedCluster.GetJsonAsync(Endpoint, "dist/loads");
        return loads.GetProperty("vss").EnumerateArray().All(v => v.GetProperty("packetsPerSecond").GetDouble() > 0);
    }

    /// <summary>Sends skewed UDP traffic (wall-clock timestamps, a fixed set of flows per VS) every 100 ms until cancelled.</summary>
    private static async Task SendTrafficAsync(IActorRef region, CancellationToken ct)
    {
        var vss = ManagedCluster.Topology.VirtualSystems.Select(v => v.Id).ToArray();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (!ct.IsCancellationRequested)
        {
            var now = DateTime.UtcNow.Ticks;
            foreach (var vs in vss)
            {
                var count = PacketsPerTick.GetValueOrDefault(vs.Value, 1);
                var packets = new TimedPacket[count];
                for (var i = 0; i < count; i++)
                {
                    var client = NetAddress.FromIPv4(0x0A640000u | (uint)(i % 8 + 10));
                    packets[i] = new TimedPacket(now, PacketHeader.Udp(client, (ushort)(40000 + i % 8), NetAddress.FromIPv4(0x0A00350Au), 53, 80));
                }
                region.Tell(new VirtualSystemCommands.ProcessPackets(vs, packets));
            }
            try
            {
                await timer.WaitForNextTickAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Waits until every VS with an expected member (non-null) is placed Active there and runs there.</summary>
    private async Task RunningAsync(Func<int, string?> expected, string what) =>
        await ManagedCluster.EventuallyAsync(async () =>
        {
            var vs = await ManagedCluster.GetJsonAsync(Endpoint, "vs");
            return vs.GetProperty("vss").EnumerateArray().All(v =>
            {
                var target = expected(v.GetProperty("vs").GetInt32());
                return v.GetProperty("runningOn").GetString() == v.GetProperty("active").GetString()
                    && (target is null || v.GetProperty("active").GetString() == target);
            });
        }, TimeSpan.FromSeconds(30), what);

    [Fact]
    public async Task By_load_advise_moves_the_few_vss_the_balance_needs_and_equal_keeps_the_spread_within_one_vs_load()
    {
        // Bad input first: nothing changes, one line, exit 2 (a bad --by never reaches the API).
        var config = await ExportAsync();
        var bad = await Ctl("dist", "equal", "--by", "bogus");
        Assert.True(bad.ExitCode == 2, $"exit {bad.ExitCode} ({bad.Error})");
        Assert.Equal("vsls ctl: dist equal: --by 'bogus' is not weight or load", Assert.Single(bad.ErrorLines));
        using (var http = ManagedCluster.Client(Endpoint, ManagedCluster.Secret))
        {
            var response = await http.PostAsync("dist/equal?by=bogus", null);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            // No traffic yet: a plan made of floors alone would be meaningless, so 409 and one line.
            var idle = await http.PostAsync("dist/equal?by=load", null);
            Assert.Equal(HttpStatusCode.Conflict, idle.StatusCode);
        }
        var idleAdvice = await Ctl("dist", "advise", "--by", "load");
        Assert.True(idleAdvice.ExitCode == 1, $"exit {idleAdvice.ExitCode} ({idleAdvice.Error})");
        Assert.StartsWith("vsls ctl: no traffic measured yet", Assert.Single(idleAdvice.ErrorLines));
        Assert.Equal(config, await ExportAsync());

        using var stop = new CancellationTokenSource();
        var traffic = SendTrafficAsync(await cluster.RegionAsync("member-2"), stop.Token);
        try
        {
            await ManagedCluster.EventuallyAsync(EveryVsMeasuredAsync, TimeSpan.FromSeconds(20), "every VS measured packets");

            var shown = await Ctl("dist", "loads");
            Assert.True(shown.ExitCode == 0, shown.Error);
            Assert.Contains("packetsPerSecond", shown.Output);

            // Advise by load: the proposal, nothing applied.
            var before = await ActivesAsync();
            var adviseRun = await Ctl("dist", "advise", "--by", "load", "--json");
            Assert.True(adviseRun.ExitCode == 0, adviseRun.Error);
            var advice = JsonDocument.Parse(adviseRun.Output).RootElement;
            Assert.Equal("load", advice.GetProperty("by").GetString());
            var loads = Loads(advice);
            var moves = advice.GetProperty("activeMoves").GetInt32();
            var spreadBefore = advice.GetProperty("spreadBefore").GetDouble();
            var spreadAfter = advice.GetProperty("spreadAfter").GetDouble();
            Assert.Equal(spreadBefore, Spread(before, loads), 6);
            Assert.True(moves >= 1 && spreadAfter < spreadBefore, $"advice: {moves} moves, spread {spreadBefore} -> {spreadAfter}");
            Assert.Equal(before, await ActivesAsync());

            // No more moves than rewriting every list by the same loads would make.
            var members = ManagedCluster.Topology.Members;
            var equalLists = Distribution.EqualByLoad(members, [.. ManagedCluster.Topology.VirtualSystems.Select(v => (v.Id, v.Weight, loads[v.Id.Value]))]);
            var equalMoves = equalLists.Count(l => l.Members[0].Value != before[l.Vs.Value]);
            Assert.True(moves <= equalMoves, $"advice moves {moves}, equal by load would move {equalMoves}");
            output.WriteLine($"loads: {string.Join(", ", loads.OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}"))}");
            output.WriteLine($"advise --by load: {moves} move(s), spread {spreadBefore:0.###} -> {spreadAfter:0.###} (tolerance {advice.GetProperty("tolerance").GetDouble():0.###}); equal --by load would move {equalMoves}");

            // Apply it as the ctl output says (dist import): exactly the advised VSs move, and the spread is the advised one.
            using var dir = new TempDirectory();
            var file = Path.Combine(dir.Path, "advice.conf");
            await File.WriteAllTextAsync(file, advice.GetProperty("import").GetString());
            var import = await Ctl("dist", "import", file);
            Assert.True(import.ExitCode == 0, import.Error);
            // The registry publishes the change to every member; wait until member-2 places and runs the advised VSs on their targets.
            var advised = advice.GetProperty("changes").EnumerateArray().ToDictionary(c => c.GetProperty("vs").GetInt32(), c => c.GetProperty("newActive").GetString()!);
            Assert.Equal(moves, advised.Count);
            await RunningAsync(vs => advised.TryGetValue(vs, out var target) ? target : null, "the advised VSs running on their targets");
            var afterAdvice = await ActivesAsync();
            Assert.Equal(moves, afterAdvice.Count(a => a.Value != before[a.Key]));
            Assert.Equal(spreadAfter, Spread(afterAdvice, loads), 6);

            // Equal by load on fresh measurements (the moved VSs start new windows): within one VS load.
            await ManagedCluster.EventuallyAsync(EveryVsMeasuredAsync, TimeSpan.FromSeconds(20), "every VS measured packets after the moves");
            var equalRun = await Ctl("dist", "equal", "--by", "load", "--json");
            Assert.True(equalRun.ExitCode == 0, equalRun.Error);
            var equalLoads = Loads(JsonDocument.Parse(equalRun.Output).RootElement);
            // The lists the registry wrote are the domain's for the loads it reports: wait for that placement.
            var planned = Distribution.EqualByLoad(members, [.. ManagedCluster.Topology.VirtualSystems.Select(v => (v.Id, v.Weight, equalLoads[v.Id.Value]))])
                .ToDictionary(l => l.Vs.Value, l => l.Members[0].Value);
            await RunningAsync(vs => planned[vs], "every VS running where equal by load put it");
            var afterEqual = await ActivesAsync();
            Assert.Equal(planned, afterEqual);
            Assert.True(Spread(afterEqual, equalLoads) <= equalLoads.Values.Max() + 1e-6,
                $"spread {Spread(afterEqual, equalLoads)} > largest VS load {equalLoads.Values.Max()}");
            Assert.True(Spread(afterEqual, equalLoads) < Spread(before, equalLoads));
            output.WriteLine($"equal --by load: spread (fresh loads) at the start {Spread(before, equalLoads):0.###}, after advise {Spread(afterAdvice, equalLoads):0.###}, after equal {Spread(afterEqual, equalLoads):0.###}; {afterEqual.Count(a => a.Value != afterAdvice[a.Key])} VS(s) moved");

            var dist = await ManagedCluster.GetJsonAsync(Endpoint, "dist");
            Assert.Equal("manual", dist.GetProperty("distribution").GetString());
            var audit = await Ctl("audit", "tail", "--json");
            var last = JsonDocument.Parse(audit.Output).RootElement.GetProperty("changes").EnumerateArray().Last();
            Assert.StartsWith("set distribution to equal by load (loads: 1=", last.GetProperty("what").GetString());
            Assert.StartsWith("alice@member-2", last.GetProperty("by").GetString());
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
        }
    }
}
