using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;

namespace VslsActors.Cli.Tests.Ctl;

/// <summary>Per-VS limits changed at run time with <c>vsls ctl vs limits</c>: applied to the running VS, refused when ≤ 0.</summary>
public sealed partial class CtlClusterTests
{
    /// <summary>A VS of the sample topology that no other test of this class changes.</summary>
    private static readonly VsId LimitedVs = new(11);

    /// <summary>500 TCP ACKs without a connection: whatever a VS thinks of them, the packets/s limit comes first.</summary>
    private async Task<VerdictCounts> SendBurstAsync()
    {
        var now = DateTime.UtcNow.Ticks;
        var packets = Enumerable.Range(0, 500)
            .Select(i => new TimedPacket(now, PacketHeader.Tcp(NetAddress.Parse("10.9.0.1"), (ushort)(20000 + i), NetAddress.Parse("10.9.0.2"), 443, TcpFlags.Ack, 60)))
            .ToArray();
        var region = await cluster.RegionAsync("member-2");
        var reply = await region.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(LimitedVs, packets), TimeSpan.FromSeconds(20));
        return reply.Counts;
    }

    [Fact]
    public async Task Vs_limits_changes_the_packet_rate_of_the_running_vs_and_shows_in_vs_show()
    {
        Assert.Equal(0, (await SendBurstAsync()).OverPacketRate);

        var set = await Ctl("vs", "limits", "11", "--pps", "50");
        Assert.True(set.ExitCode == 0, set.Error);
        Assert.StartsWith("changed: the configuration is now at version ", set.Output);

        // The registry publishes the change; the VS applies it where it runs, without a restart. A bucket
        // holds one second's worth, so at most 50 of a burst of 500 pass once the limit is in effect.
        VerdictCounts? limited = null;
        await ManagedCluster.EventuallyAsync(async () => (limited = await SendBurstAsync()).OverPacketRate >= 450,
            TimeSpan.FromSeconds(15), "VS 11 refusing packets over 50/s");
        Assert.Equal(limited!.OverLimit, limited.OverPacketRate);

        var show = await Ctl("vs", "show", "11");
        Assert.True(show.ExitCode == 0, show.Error);
        Assert.Contains("limits: max-connections 100000, packets/s 50, new connections/s off", show.Output);
        var json = await Ctl("vs", "show", "11", "--json");
        using (var doc = JsonDocument.Parse(json.Output))
        {
            Assert.Equal(50, doc.RootElement.GetProperty("packetsPerSecondLimit").GetInt32());
            Assert.True(doc.RootElement.GetProperty("overLimitPacketRate").GetInt64() >= 450);
        }
        var audit = await Ctl("audit", "tail", "--json");
        Assert.Contains("set limits of VS 11 to max-connections=100000 packets-per-second=50 new-connections-per-second=off", audit.Output);

        // off lifts it again, also without a restart.
        Assert.Equal(0, (await Ctl("vs", "limits", "11", "--pps", "off")).ExitCode);
        await ManagedCluster.EventuallyAsync(async () => (await SendBurstAsync()).OverPacketRate == 0,
            TimeSpan.FromSeconds(15), "VS 11 without a packet limit again");
    }

    [Fact]
    public async Task Vs_limits_of_zero_or_less_is_refused_with_one_line_and_changes_nothing()
    {
        var before = await ExportAsync();

        var zero = await Ctl("vs", "limits", "11", "--pps", "0");
        var negative = await Ctl("vs", "limits", "11", "--new-cps", "-3");
        var none = await Ctl("vs", "limits", "11");
        Assert.All(new[] { zero, negative, none }, r => Assert.Equal(2, r.ExitCode));
        Assert.Equal("vsls ctl: vs limits: --pps '0' is not a whole number > 0 or off", zero.Error.Trim());
        Assert.Equal("vsls ctl: vs limits: --new-cps '-3' is not a whole number > 0 or off", negative.Error.Trim());
        Assert.Equal("vsls ctl: vs limits: nothing to change (give --pps n|off, --new-cps n|off and/or --max-conns n)", none.Error.Trim());

        // The API (what any client meets) refuses it in the registry, naming the VS and the field.
        using var http = ManagedCluster.Client(Endpoint, ManagedCluster.Secret);
        var response = await http.PostAsJsonAsync("vs/11/limits", new { maxConnections = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("set-limits: virtual system 11: max-connections: 0 is not a limit", await response.Content.ReadAsStringAsync());

        Assert.Equal(before, await ExportAsync());
    }
}
