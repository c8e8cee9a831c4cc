using System.Diagnostics;
using System.Text.Json;
using VslsActors.Cli.Demo;
using VslsActors.Cli.Loadgen;
using VslsActors.Domain;
using VslsActors.TestSupport;
using VslsActors.Traffic.Ingress;
using VslsActors.Node;

namespace VslsActors.Cli.Tests;

public sealed class LoadgenTests
{
    [Fact]
    public async Task Loadgen_moves_to_the_next_target_when_its_member_dies_and_counts_the_batches_lost_in_between()
    {
        // A door in front of the first member's VSs: closed before the kill, so batches are certainly
        // in flight there when it dies (with only the delay, a kill could fall between batches).
        var door = new SemaphoreSlim(1, 1);
        var first = new AcceptingGateway { Delay = TimeSpan.FromMilliseconds(20), Gate = door };
        var second = new AcceptingGateway { Delay = TimeSpan.FromMilliseconds(20) };
        var a = await IngressTestServer.StartAsync(first);
        await using var b = await IngressTestServer.StartAsync(second);
        var output = new StringWriter();
        var runner = new LoadgenRunner(new LoadgenOptions
        {
            Targets = [a.Target, b.Target],
            Streams = 1,
            Duration = TimeSpan.FromSeconds(3),
            Batch = 512,
            Pipeline = 8,
            Connections = 500,
            Json = true,
        }, output, TextWriter.Null);

        var run = runner.RunAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (first.Packets < 10_000 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        await door.WaitAsync();
        while (first.Inside == 0 && DateTime.UtcNow < deadline)
            await Task.Delay(5);
        await a.KillAsync();
        var code = await run;

        var report = LoadgenReport.FromJson(output.ToString())!;
        Assert.Equal(0, code);
        Assert.Equal(1, report.Failovers);
        Assert.True(second.Packets > 0, "the second member got the traffic after the first died");
        Assert.True(report.Lost > 0, "batches on the dying member were lost");
        Assert.Equal(0, report.Lost % 512);
        // Every record sent was either answered (the test VSs accept everything) or lost.
        Assert.Equal(report.Sent, report.Accepted + report.Lost);
        Assert.True(report.Accepted <= first.Packets + second.Packets);
        Assert.Equal(0, b.Context.InFlight);
    }

    [Fact]
    public async Task A_target_that_is_not_host_port_is_one_line_and_exit_code_2()
    {
        var r = await CliRun.InProcessAsync("loadgen", "--target", "nonsense", "--duration", "1s");
        Assert.Equal(2, r.ExitCode);
        Assert.Equal(["vsls: --target: 'nonsense' is not an ingress target (host:port with a port 1-65535)"], r.ErrorLines);
    }

    [Fact]
    public async Task An_unknown_VS_is_one_line_and_exit_code_2()
    {
        var r = await CliRun.InProcessAsync("loadgen", "--target", "127.0.0.1:1", "--vs", "1,77");
        Assert.Equal(2, r.ExitCode);
        Assert.Single(r.ErrorLines);
        Assert.StartsWith("vsls: --vs: virtual system 77 is not in the topology", r.ErrorLines[0]);
    }

    [Fact]
    public async Task No_member_listening_is_one_line_and_exit_code_1()
    {
        var port = LocalPorts.Free(1)[0];
        var r = await CliRun.InProcessAsync("loadgen", "--target", $"127.0.0.1:{port}", "--duration", "1s");
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.ErrorLines);
        Assert.StartsWith($"vsls: loadgen: no ingress target answers (127.0.0.1:{port})", r.ErrorLines[0]);
    }

    [Fact]
    public async Task Loadgen_drives_a_real_member_whose_VSs_then_export_the_connections_it_opened()
    {
        using var temp = new TempDirectory();
        var topology = SampleTopology.WriteTo(temp.Path);
        var ports = LocalPorts.Free(2);
        var ingress = $"127.0.0.1:{ports[1]}";
        var member = MemberProcess.Start(SelfCommand.Resolve(), "member-1", ports[0],
            ["--member", "member-1", "--port", ports[0].ToString(), "--db", Path.Combine(temp.Path, "vsls.db"), "--topology", topology, "--ingress", ingress],
            Path.Combine(temp.Path, "member-1.log"));
        try
        {
            await CliRun.WaitForLogLineAsync(Path.Combine(temp.Path, "member-1.log"), $"ingress: gRPC on http://{ingress}", TimeSpan.FromSeconds(60));
            var loadgen = await CliRun.ProcessAsync("loadgen", "--target", ingress, "--duration", "3s", "--rate", "20000",
                "--connections", "300", "--vs", "1", "--topology", topology, "--json");

            Assert.True(loadgen.ExitCode == 0, loadgen.Error + File.ReadAllText(Path.Combine(temp.Path, "member-1.log")));
            var report = LoadgenReport.FromJson(loadgen.Output)!;
            Assert.True(report.Accepted > 1000, $"accepted {report.Accepted}");
            Assert.Equal(0, report.Lost);
            Assert.Equal(0, report.UnknownVs);
            Assert.Equal(report.Sent, report.Accepted + report.PolicyDropped + report.Rejected + report.OutOfState + report.OverLimit + report.Unanswered);
            Assert.Contains("accepted", loadgen.Error); // live progress went to stderr

            await using var client = await IngressClient.ConnectAsync([ingress]);
            var lines = new List<string>();
            await foreach (var line in client.ListConnectionsAsync(new VsId(1), 50))
                lines.Add(line);

            Assert.InRange(lines.Count, 1, 50);
            foreach (var line in lines)
            {
                using var row = JsonDocument.Parse(line);
                Assert.Equal(1, row.RootElement.GetProperty("vs").GetInt32());
                Assert.Equal("accept", row.RootElement.GetProperty("verdict").GetString());
                Assert.True(row.RootElement.GetProperty("orig_pkts").GetInt64() >= 1);
            }
        }
        finally
        {
            member.Kill();
        }
    }
}
