using System.Buffers.Binary;
using CsCheck;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Traffic.Ingress;

namespace VslsActors.Traffic.Tests.Ingress;

public sealed class PacketRecordCodecTests
{
    private static readonly Gen<bool> GenIPv4 = Gen.Bool;

    private static Gen<NetAddress> GenAddress(bool ipv4) => ipv4
        ? Gen.UInt.Select(NetAddress.FromIPv4)
        // Not in the IPv4-mapped range: such an address is an IPv4 address and travels as family 4.
        : Gen.Select(Gen.ULong, Gen.ULong, NetAddress.FromIPv6).Where(a => !a.IsIPv4);

    private static Gen<IpProtocol> GenProtocol(bool ipv4) => Gen.OneOf(
        Gen.Const(IpProtocol.Tcp), Gen.Const(IpProtocol.Udp), Gen.Const(ipv4 ? IpProtocol.Icmp : IpProtocol.IcmpV6),
        Gen.Byte[0, 142].Where(b => b != (ipv4 ? 58 : 1)).Select(b => (IpProtocol)b));

    private static readonly Gen<IngressRecord> GenRecord =
        from ipv4 in GenIPv4
        from proto in GenProtocol(ipv4)
        from src in GenAddress(ipv4)
        from dst in GenAddress(ipv4)
        from sp in Gen.UShort
        from dp in Gen.UShort
        from flags in Gen.Byte[0, 63]
        from icmpType in Gen.Byte
        from icmpId in Gen.UShort
        from len in Gen.Int[0, PacketRecordCodec.MaxIpLength]
        from ts in Gen.Long[0, DateTime.MaxValue.Ticks]
        from kind in Gen.Int[0, 2]
        from vsId in Gen.Int[1, int.MaxValue]
        from vlan in Gen.Int[1, 4094]
        let header = new PacketHeader(proto, src, sp, dst, dp, proto == IpProtocol.Tcp ? (TcpFlags)flags : TcpFlags.None, icmpType, icmpId, len)
        select new IngressRecord((RecordSelector)kind, kind switch { 1 => vsId, 2 => vlan, _ => 0 }, new TimedPacket(ts, header));

    [Fact]
    public void Every_valid_record_decodes_to_what_was_encoded()
    {
        GenRecord.Array[0, 40].Sample(records =>
        {
            var bytes = PacketRecordCodec.Encode(records);
            Assert.True(PacketRecordCodec.TryCount(bytes, out var count, out _));
            Assert.Equal(records.Length, count);
            for (var i = 0; i < count; i++)
            {
                Assert.True(PacketRecordCodec.TryRead(bytes, i, out var decoded, out var fault), fault);
                Assert.Equal(records[i], decoded);
            }
        });
    }

    [Fact]
    public void Arbitrary_bytes_decode_or_fail_with_a_fault_and_never_throw()
    {
        Gen.Byte.Array[PacketRecordCodec.RecordSize].Sample(bytes =>
        {
            var ok = PacketRecordCodec.TryRead(bytes, 0, out _, out var fault);
            Assert.Equal(ok, fault is null);
            if (!ok)
                Assert.StartsWith("record 0 (bytes 0-63): ", fault);
        });
    }

    [Fact]
    public void Decoding_a_valid_batch_allocates_nothing()
    {
        var records = GenRecord.Array[256].Single();
        var bytes = PacketRecordCodec.Encode(records);
        PacketRecordCodec.TryRead(bytes, 0, out _, out _); // JIT
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < records.Length; i++)
            PacketRecordCodec.TryRead(bytes, i, out _, out _);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static byte[] OneValidRecord()
    {
        var header = PacketHeader.Tcp(NetAddress.Parse("10.0.0.1"), 40000, NetAddress.Parse("10.0.0.2"), 443, TcpFlags.Syn, 60);
        return PacketRecordCodec.Encode([IngressRecord.ForVs(new VsId(3), new TimedPacket(DateTime.UtcNow.Ticks, header))]);
    }

    private static string FaultOf(byte[] records, int index = 0)
    {
        Assert.False(PacketRecordCodec.TryRead(records, index, out _, out var fault));
        return fault!;
    }

    [Fact]
    public void A_batch_that_is_not_whole_records_is_refused_with_its_size()
    {
        Assert.False(PacketRecordCodec.TryCount(new byte[130], out _, out var fault));
        Assert.Equal("records is 130 bytes, not a multiple of the 64-byte record size (2 bytes left over after record 1)", fault);
    }

    [Fact]
    public void An_unassigned_protocol_number_is_named()
    {
        var r = OneValidRecord();
        r[9] = 200;
        Assert.Equal("record 0 (bytes 0-63): protocol 200 is not an assigned IP protocol number (0-142, 253, 254)", FaultOf(r));
    }

    [Fact]
    public void An_unknown_address_family_is_named()
    {
        var r = OneValidRecord();
        r[10] = 5;
        Assert.Equal("record 0 (bytes 0-63): address family 5 is unknown (4 or 6)", FaultOf(r));
    }

    [Fact]
    public void An_IPv4_record_with_bytes_after_its_address_is_refused()
    {
        var r = OneValidRecord();
        r[25] = 1;
        Assert.Contains("address family 4 (IPv4) has non-zero bytes 4-15", FaultOf(r));
    }

    [Fact]
    public void Selector_faults_name_the_selector()
    {
        var r = OneValidRecord();
        r[8] = 9;
        Assert.Contains("selector kind 9 is unknown", FaultOf(r));
        r = OneValidRecord();
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(12), 0);
        Assert.Contains("VS id 0 is not a VS id", FaultOf(r));
        r = OneValidRecord();
        r[8] = (byte)RecordSelector.Vlan;
        BinaryPrimitives.WriteUInt32LittleEndian(r.AsSpan(12), 5000);
        Assert.Contains("VLAN id 5000 is outside 1-4094", FaultOf(r));
    }

    [Fact]
    public void Protocol_and_family_must_agree_for_ICMP()
    {
        var r = OneValidRecord();
        r[9] = (byte)IpProtocol.IcmpV6;
        Assert.Contains("protocol 58 is ICMPv6 on an IPv4 packet", FaultOf(r));
    }

    [Fact]
    public void Negative_timestamp_IP_length_and_reserved_bytes_are_refused()
    {
        var r = OneValidRecord();
        BinaryPrimitives.WriteInt64LittleEndian(r, -1);
        Assert.Contains("timestamp -1", FaultOf(r));
        r = OneValidRecord();
        BinaryPrimitives.WriteInt32LittleEndian(r.AsSpan(56), 70_000);
        Assert.Contains("IP length 70000 is outside 0-65575", FaultOf(r));
        r = OneValidRecord();
        r[62] = 1;
        Assert.Contains("reserved bytes 60-63", FaultOf(r));
    }

    [Fact]
    public void The_fault_names_the_record_it_is_in()
    {
        var good = OneValidRecord();
        var bad = OneValidRecord();
        bad[10] = 7;
        var batch = good.Concat(good).Concat(bad).ToArray();
        Assert.True(PacketRecordCodec.TryRead(batch, 1, out _, out _));
        Assert.StartsWith("record 2 (bytes 128-191): address family 7", FaultOf(batch, 2));
    }

    [Fact]
    public void Layout_is_the_documented_one()
    {
        var header = new PacketHeader(IpProtocol.Tcp, NetAddress.Parse("192.0.2.1"), 0x1234, NetAddress.Parse("198.51.100.7"), 0x5678, TcpFlags.Syn | TcpFlags.Ack, 0, 0, 1500);
        var r = PacketRecordCodec.Encode([new IngressRecord(RecordSelector.Vlan, 100, new TimedPacket(0x0102030405060708, header))]);
        Assert.Equal(64, r.Length);
        Assert.Equal([0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01], r[0..8]);
        Assert.Equal(2, r[8]);
        Assert.Equal(6, r[9]);
        Assert.Equal(4, r[10]);
        Assert.Equal(0x12, r[11]);
        Assert.Equal([100, 0, 0, 0], r[12..16]);
        Assert.Equal([192, 0, 2, 1], r[16..20]);
        Assert.Equal([198, 51, 100, 7], r[32..36]);
        Assert.Equal([0x34, 0x12, 0x78, 0x56], r[48..52]);
        Assert.Equal([0xDC, 0x05, 0, 0], r[56..60]);
    }
}
