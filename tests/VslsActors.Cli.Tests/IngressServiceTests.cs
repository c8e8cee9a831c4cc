using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Traffic;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Cli.Tests;

public sealed class IngressServiceTests
{
    private static TimedPacket Syn(string destination, ushort sourcePort = 40000) => new(DateTime.UtcNow.Ticks,
        PacketHeader.Tcp(NetAddress.Parse(destination.Contains(':') ? "2001:db8:99::1" : "192.0.2.10"), sourcePort, NetAddress.Parse(destination), 443, TcpFlags.Syn, 60));

    private static byte[] Records(int count, VsId vs) =>
        PacketRecordCodec.Encode(Enumerable.Range(0, count).Select(i => new TrafficPacket(vs, Syn("10.1.0.5", (ushort)(1024 + i)))).ToArray());

    [Fact]
    public async Task Records_reach_the_VS_their_id_VLAN_or_destination_subnet_names_and_the_rest_count_as_unknown_VS()
    {
        var gateway = new AcceptingGateway();
        await using var server = await IngressTestServer.StartAsync(gateway);
        await using var client = await IngressClient.ConnectAsync([server.Target]);
        var records = PacketRecordCodec.Encode([
            IngressRecord.ForVs(new VsId(4), Syn("10.1.0.5")),                          // id wins over the subnet
            new IngressRecord(RecordSelector.Vlan, 102, Syn("10.1.0.5")),               // VLAN 102 -> VS 2
            new IngressRecord(RecordSelector.Vlan, 999, Syn("10.5.1.1")),               // unmapped VLAN -> subnet -> VS 5
            new IngressRecord(RecordSelector.None, 0, Syn("2001:db8:1::7")),            // subnet -> VS 1
            IngressRecord.ForVs(new VsId(999), Syn("10.1.0.5")),                        // no such VS
            new IngressRecord(RecordSelector.None, 0, Syn("172.16.0.1")),               // no subnet
        ]);

        var result = await client.SendRecordsAsync(records);

        Assert.Null(result.Error);
        Assert.Equal(4, result.Accepted);
        Assert.Equal(2, result.UnknownVs);
        Assert.Equal(1, gateway.PacketsOf(new VsId(4)));
        Assert.Equal(1, gateway.PacketsOf(new VsId(2)));
        Assert.Equal(1, gateway.PacketsOf(new VsId(5)));
        Assert.Equal(1, gateway.PacketsOf(new VsId(1)));
    }

    [Fact]
    public async Task A_malformed_batch_gets_an_error_naming_the_fault_while_its_stream_and_other_clients_go_on()
    {
        var gateway = new AcceptingGateway();
        await using var server = await IngressTestServer.StartAsync(gateway);
        await using var faulty = await IngressClient.ConnectAsync([server.Target]);
        await using var other = await IngressClient.ConnectAsync([server.Target]);
        var vs = new VsId(1);

        var badLength = await faulty.SendRecordsAsync(new byte[130]);
        var badProtocol = Records(3, vs);
        badProtocol[PacketRecordCodec.RecordSize + 9] = 200;
        var badRecord = await faulty.SendRecordsAsync(badProtocol);
        var afterwards = await faulty.SendRecordsAsync(Records(5, vs));
        var meanwhile = await other.SendRecordsAsync(Records(7, vs));

        Assert.Equal("records is 130 bytes, not a multiple of the 64-byte record size (2 bytes left over after record 1)", badLength.Error);
        Assert.Equal("record 1 (bytes 64-127): protocol 200 is not an assigned IP protocol number (0-142, 253, 254)", badRecord.Error);
        Assert.Equal(0, badRecord.Accepted);
        Assert.Equal(5, afterwards.Accepted);
        Assert.Equal(7, meanwhile.Accepted);
        // The malformed batch was refused whole: its valid first record never reached a VS.
        Assert.Equal(12, gateway.Packets);
        Assert.Equal(0, faulty.Failovers);
    }

    [Fact]
    public async Task A_sender_faster_than_a_blocked_member_has_no_more_than_max_in_flight_batches_on_it()
    {
        const int maxInFlight = 3;
        var gate = new SemaphoreSlim(0, 1);
        var gateway = new AcceptingGateway { Gate = gate };
        await using var server = await IngressTestServer.StartAsync(gateway, maxInFlight);
        await using var client = await IngressClient.ConnectAsync([server.Target]);
        var batch = Records(1024, new VsId(1)); // 64 KiB

        // 200 batches (12.8 MiB) offered at once, while the member's VSs answer nothing.
        var answers = Enumerable.Range(0, 200).Select(_ => client.SendRecordsAsync(batch)).ToArray();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (gateway.Calls < maxInFlight && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        await Task.Delay(500); // room for the member to take more than it should, if it would

        Assert.Equal(maxInFlight, gateway.Calls);
        Assert.Equal(maxInFlight, server.Context.InFlight);
        Assert.True(answers.Count(a => a.IsCompleted) == 0, "no batch can be answered while the VSs are blocked");

        gate.Release();
        var results = await Task.WhenAll(answers);

        Assert.All(results, r => Assert.Equal(1024, r.Accepted));
        Assert.Equal(200, gateway.Calls);
        Assert.True(server.Context.MaxInFlightObserved <= maxInFlight, $"at most {maxInFlight} batches on the member at once, saw {server.Context.MaxInFlightObserved}");
    }
}
