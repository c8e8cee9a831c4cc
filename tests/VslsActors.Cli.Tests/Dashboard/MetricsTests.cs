using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Akka.Actor;
using VslsActors.Cli.Tests.Ctl;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Cli.Tests.Dashboard;

/// <summary>
/// <c>/metrics</c> on the API port of a real member: Prometheus text from the OpenTelemetry exporter,
/// with per-VS and per-member series read from the cluster at scrape time, behind the API's token.
/// </summary>
[Collection("ctl cluster")]
public sealed partial class MetricsTests(ManagedCluster cluster) : IClassFixture<ManagedCluster>
{
    private const int Connections = 20;

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)""")]
    private static partial Regex SeriesLine();

    [GeneratedRegex("""(?<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>(\\.|[^"\\])*)"\s*,?""")]
    private static partial Regex Label();

    private sealed record Series(string Name, Dictionary<string, string> Labels, double Value);

    private static List<Series> Parse(string text)
    {
        var result = new List<Series>();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#') || SeriesLine().Match(line) is not { Success: true } m)
                continue;
            var labels = Label().Matches(m.Groups["labels"].Value).ToDictionary(l => l.Groups["key"].Value, l => l.Groups["value"].Value);
            result.Add(new Series(m.Groups["name"].Value, labels, double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return result;
    }

    private static async Task<(HttpStatusCode Status, string Body)> ScrapeAsync(string endpoint, string? token)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://{endpoint}/metrics");
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_need_the_token_and_show_per_vs_traffic_and_per_member_placement()
    {
        var endpoint = cluster.Api["member-2"];
        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(endpoint, null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ScrapeAsync(endpoint, "not-the-secret")).Status);

        // Traffic into VS 1 (corp-web: tcp/443 to its web servers 10.1.1.0/24 is accepted) through member-2's
        // region: a handshake and one data packet per connection.
        var vs = new VsId(1);
        var region = await cluster.RegionAsync("member-2");
        var now = DateTime.UtcNow.Ticks;
        var packets = new List<TimedPacket>();
        for (var i = 0; i < Connections; i++)
        {
            var client = NetAddress.FromIPv4(0x0A640000u | (uint)(i + 10));
            var server = NetAddress.FromIPv4(0x0A01010Au); // 10.1.1.10
            var port = (ushort)(41000 + i);
            packets.Add(new TimedPacket(now, PacketHeader.Tcp(client, port, server, 443, TcpFlags.Syn, 60)));
            packets.Add(new TimedPacket(now, PacketHeader.Tcp(server, 443, client, port, TcpFlags.Syn | TcpFlags.Ack, 60)));
            packets.Add(new TimedPacket(now, PacketHeader.Tcp(client, port, server, 443, TcpFlags.Ack, 52)));
            packets.Add(new TimedPacket(now, PacketHeader.Tcp(client, port, server, 443, TcpFlags.Psh | TcpFlags.Ack, 400)));
        }
        var verdicts = (await region.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(vs, [.. packets]), TimeSpan.FromSeconds(20))).Counts;

        var (status, body) = await ScrapeAsync(endpoint, ManagedCluster.Secret);
        Assert.Equal(HttpStatusCode.OK, status);
        var series = Parse(body);
        bool OfVs(Series s) => s.Labels.GetValueOrDefault("vs") == vs.Value.ToString(CultureInfo.InvariantCulture);

        // Per VS: its packet total covers the batch, verdicts by kind add up to it and match what the VS answered.
        var total = Assert.Single(series, s => s.Name == "vsls_vs_packets_total" && OfVs(s));
        Assert.True(total.Value >= packets.Count, $"packets {total.Value} < {packets.Count} sent");
        var byKind = series.Where(s => s.Name == "vsls_vs_verdicts_total" && OfVs(s)).ToDictionary(s => s.Labels["verdict"], s => s.Value);
        Assert.Equal(["accepted", "out-of-state", "over-limit", "policy-dropped", "rejected"], byKind.Keys.Order());
        Assert.Equal(total.Value, byKind.Values.Sum());
        Assert.True(byKind["accepted"] >= verdicts.Accepted && byKind["policy-dropped"] >= verdicts.PolicyDropped, body);
        var connections = Assert.Single(series, s => s.Name == "vsls_vs_connections" && OfVs(s));
        Assert.Equal(packets.Count, verdicts.Accepted);
        Assert.Equal(Connections, connections.Value);
        Assert.Equal(ManagedCluster.Topology.VirtualSystems.Length, series.Count(s => s.Name == "vsls_vs_up" && s.Value == 1));
        Assert.Equal(total.Labels["member"], Assert.Single(series, s => s.Name == "vsls_vs_connections" && OfVs(s)).Labels["member"]);

        // Per member: every VS Active somewhere, the weights add up, a failover counter for each.
        var active = series.Where(s => s.Name == "vsls_member_active_vs").ToList();
        Assert.Equal(["member-1", "member-2", "member-3"], active.Select(s => s.Labels["member"]).Order());
        Assert.Equal(ManagedCluster.Topology.VirtualSystems.Length, active.Sum(s => s.Value));
        Assert.Equal(ManagedCluster.Topology.VirtualSystems.Sum(v => (double)v.Weight), series.Where(s => s.Name == "vsls_member_weighted_load").Sum(s => s.Value));
        Assert.Equal(3, series.Count(s => s.Name == "vsls_member_failovers_total" && s.Value >= 0));

        // Overload (docs/degradation.md): the scraped member reports its own level (the others' once their
        // reports arrive); nothing here is overloaded, and the over-limit kinds include overload.
        var degraded = series.Where(s => s.Name == "vsls_member_degraded").ToList();
        Assert.Contains(degraded, s => s.Labels["member"] == "member-2");
        Assert.All(degraded, s => Assert.Equal(0, s.Value));
        Assert.Contains(series, s => s.Name == "vsls_member_overload_queued" && s.Labels["member"] == "member-2");
        Assert.Contains(series, s => s.Name == "vsls_member_overload_latency_milliseconds" && s.Labels["member"] == "member-2");
        Assert.Equal(["connections", "new-connections-per-second", "overload", "packets-per-second"],
            series.Where(s => s.Name == "vsls_vs_over_limit_total" && OfVs(s)).Select(s => s.Labels["kind"]).Order());
    }
}
