using System.Collections.Immutable;
using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Serialization;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Cluster.Tests.Serialization;

/// <summary>
/// The persistence format itself: v1 bytes pinned so that a journal written today is read by
/// every later build, large checkpoints, and malformed input that fails with a clear
/// <see cref="SerializationException"/> rather than a crash from deep inside.
/// </summary>
public sealed class PersistenceFormatSpec
{
    // The format needs no actor system; the base class only keeps the reference.
    private readonly VslsPersistenceSerializer _serializer = new((ExtendedActorSystem)null!);

    private static ConnectionDeltas PinnedDeltas()
    {
        var key = FlowKey.ForFirstPacket(NetAddress.Parse("10.0.0.9"), 40000, NetAddress.Parse("10.0.0.2"), 443, IpProtocol.Tcp);
        var state = ConnectionState.Restore(ConnectionPhase.TcpEstablished, IpProtocol.Tcp, false, true,
            origPackets: 3, origBytes: 180, respPackets: 2, respBytes: 300, firstSeen: 638_000_000_000_000_000, lastSeen: 638_000_000_010_000_000);
        var v6 = FlowKey.ForFirstPacket(NetAddress.Parse("2001:db8::1"), 7, NetAddress.Parse("2001:db8::2"), 7, IpProtocol.IcmpV6);
        var v6State = ConnectionState.Restore(ConnectionPhase.IcmpRequested, IpProtocol.IcmpV6, false, false, 1, 64, 0, 0, 5, 5);
        return new ConnectionDeltas(
        [
            new ConnectionDelta(DeltaKind.Established, new ConnectionRecord(key, state, SyncMode.Immediate, "web")),
            new ConnectionDelta(DeltaKind.Opened, new ConnectionRecord(v6, v6State, SyncMode.Delayed, "ping")),
            new ConnectionDelta(DeltaKind.Closed, new ConnectionRecord(key, state, SyncMode.Immediate, "web")),
        ]);
    }

    // deltas.v1 of PinnedDeltas(), written by the first version of the format. Never regenerate:
    // if this test fails, the change breaks every journal already written.
    private const string PinnedDeltasV1Hex =
        "0102037765620470696e6703" +
        "0200000000000000000000ffff0a000009409c00000000000000000000ffff0a000002bb0106" +
        "03060203b40102ac020000b3a69ea1da0880dac40900000120010db800000000000000000000" +
        "0001070020010db800000000000000000000000207003a143a00014000000500000000000000" +
        "0001010300000000000000000000ffff0a000009409c00000000000000000000ffff0a000002" +
        "bb010603060203b40102ac020000b3a69ea1da0880dac4090000";

    [Fact]
    public void Deltas_written_by_format_version_1_are_read_back_exactly()
    {
        var bytes = Convert.FromHexString(PinnedDeltasV1Hex);
        var read = _serializer.FromBinary(bytes, VslsPersistenceSerializer.DeltasManifest);
        Samples.AssertDeepEqual(PinnedDeltas(), read);
    }

    [Fact]
    public void Deltas_are_still_written_as_format_version_1()
    {
        Assert.Equal(PinnedDeltasV1Hex, Convert.ToHexStringLower(_serializer.ToBinary(PinnedDeltas())));
    }

    [Fact]
    public void A_large_checkpoint_round_trips_compactly_and_shares_rule_name_instances()
    {
        const int count = 200_000;
        string[] rules = ["allow-web", "allow-dns", "allow-ssh"];
        var builder = ImmutableArray.CreateBuilder<ConnectionRecord>(count);
        for (var i = 0; i < count; i++)
            builder.Add(Samples.Record(i, rules[i % rules.Length], ipv6: i % 5 == 0));
        var checkpoint = new VsCheckpoint(builder.MoveToImmutable(), TakenAtTicks: 638_000_000_000_000_000);

        var bytes = _serializer.ToBinary(checkpoint);
        var back = (VsCheckpoint)_serializer.FromBinary(bytes, VslsPersistenceSerializer.CheckpointManifest);

        Assert.True(bytes.Length < count * 80, $"{bytes.Length / (double)count:F1} bytes per connection");
        Assert.Equal(checkpoint.TakenAtTicks, back.TakenAtTicks);
        Assert.Equal(count, back.Connections.Length);
        for (var i = 0; i < count; i += 997)
            Samples.AssertDeepEqual(checkpoint.Connections[i], back.Connections[i], $"Connections[{i}]");
        Samples.AssertDeepEqual(checkpoint.Connections[^1], back.Connections[^1]);
        var distinctNameInstances = back.Connections.Select(c => c.RuleName).Distinct(ReferenceEqualityComparer.Instance).Count();
        Assert.Equal(rules.Length, distinctNameInstances);
    }

    [Fact]
    public void An_empty_or_default_table_is_written_and_read_as_empty()
    {
        var back = (VsCheckpoint)_serializer.FromBinary(_serializer.ToBinary(new VsCheckpoint(default, 5)), VslsPersistenceSerializer.CheckpointManifest);
        Assert.Empty(back.Connections);
        var deltas = (ConnectionDeltas)_serializer.FromBinary(_serializer.ToBinary(new ConnectionDeltas([])), VslsPersistenceSerializer.DeltasManifest);
        Assert.Empty(deltas.Deltas);
    }

    [Fact]
    public void Payloads_carry_no_CLR_type_names()
    {
        foreach (var manifest in VslsPersistenceSerializer.ManifestTypes.Keys)
        {
            var value = Samples.Create(VslsPersistenceSerializer.ManifestTypes[manifest]);
            var text = Encoding.Latin1.GetString(_serializer.ToBinary(value));
            Assert.DoesNotContain("VslsActors", text, StringComparison.Ordinal);
            Assert.DoesNotContain(value.GetType().Name, text, StringComparison.Ordinal);
            Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void An_unknown_manifest_is_refused_with_the_known_ones_listed()
    {
        var e = Assert.Throws<SerializationException>(() => _serializer.FromBinary([1, 0, 0], "deltas.v9"));
        Assert.Contains("'deltas.v9'", e.Message, StringComparison.Ordinal);
        Assert.Contains("deltas.v1", e.Message, StringComparison.Ordinal);
        Assert.Contains("checkpoint.v1", e.Message, StringComparison.Ordinal);
        Assert.Contains(VslsPersistenceSerializer.SerializerId.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_payload_from_a_newer_format_version_is_refused_clearly()
    {
        var bytes = Convert.FromHexString(PinnedDeltasV1Hex);
        bytes[0] = 2;
        var e = Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, VslsPersistenceSerializer.DeltasManifest));
        Assert.Contains("format version 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("deltas.v1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_truncation_of_a_payload_is_refused_as_malformed()
    {
        var bytes = Convert.FromHexString(PinnedDeltasV1Hex);
        for (var length = 0; length < bytes.Length; length++)
        {
            var cut = bytes.AsSpan(0, length).ToArray();
            var e = Record.Exception(() => _serializer.FromBinary(cut, VslsPersistenceSerializer.DeltasManifest));
            Assert.True(e is SerializationException, $"cut at {length}: {e?.GetType().Name ?? "no exception"}");
        }
    }

    [Fact]
    public void Trailing_bytes_are_refused()
    {
        var bytes = Convert.FromHexString(PinnedDeltasV1Hex + "00");
        var e = Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, VslsPersistenceSerializer.DeltasManifest));
        Assert.Contains("left over", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_count_larger_than_the_payload_is_refused_before_allocating()
    {
        // version 1, taken-at, empty string table, then a record count of 2^62.
        byte[] bytes = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
        var e = Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, VslsPersistenceSerializer.CheckpointManifest));
        Assert.Contains("announces", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_a_type_without_a_manifest_is_refused_naming_it()
    {
        var e = Assert.Throws<SerializationException>(() => _serializer.ToBinary(new ConnectionDelta(DeltaKind.Opened, Samples.Record(1))));
        Assert.Contains(typeof(ConnectionDelta).FullName!, e.Message, StringComparison.Ordinal);
        Assert.Throws<SerializationException>(() => _serializer.Manifest("a string"));
    }
}
