using System.Collections.Immutable;
using Akka.Actor;
using Akka.Serialization;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Cluster.Tests.VirtualSystems;

/// <summary>
/// A compact binary serializer for the VS's persisted data, for these tests only: Akka's default
/// JSON serializer cannot round-trip <see cref="FlowKey"/> (private fields, no public constructor),
/// and the production stable-manifest serializer is built separately (Serialization/). The VS
/// actor does not depend on which serializer is bound.
/// </summary>
public sealed class TestPersistenceSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public override int Identifier => 9901;

    public override string Manifest(object o) => o switch
    {
        ConnectionDeltas => "deltas.test",
        VsCheckpoint => "checkpoint.test",
        _ => throw new ArgumentException($"cannot serialize {o.GetType()}"),
    };

    public override byte[] ToBinary(object obj)
    {
        using var stream = new MemoryStream();
        using var w = new BinaryWriter(stream);
        switch (obj)
        {
            case ConnectionDeltas d:
                w.Write(d.Deltas.Length);
                foreach (var delta in d.Deltas)
                {
                    w.Write((byte)delta.Kind);
                    Write(w, delta.Connection);
                }
                break;
            case VsCheckpoint c:
                w.Write(c.TakenAtTicks);
                w.Write(c.Connections.Length);
                foreach (var r in c.Connections)
                    Write(w, r);
                break;
            default:
                throw new ArgumentException($"cannot serialize {obj.GetType()}");
        }
        w.Flush();
        return stream.ToArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var r = new BinaryReader(new MemoryStream(bytes));
        switch (manifest)
        {
            case "deltas.test":
            {
                var n = r.ReadInt32();
                var deltas = ImmutableArray.CreateBuilder<ConnectionDelta>(n);
                for (var i = 0; i < n; i++)
                {
                    var kind = (DeltaKind)r.ReadByte();
                    deltas.Add(new ConnectionDelta(kind, ReadRecord(r)));
                }
                return new ConnectionDeltas(deltas.MoveToImmutable());
            }
            case "checkpoint.test":
            {
                var taken = r.ReadInt64();
                var n = r.ReadInt32();
                var records = ImmutableArray.CreateBuilder<ConnectionRecord>(n);
                for (var i = 0; i < n; i++)
                    records.Add(ReadRecord(r));
                return new VsCheckpoint(records.MoveToImmutable(), taken);
            }
            default:
                throw new ArgumentException($"unknown manifest {manifest}");
        }
    }

    private static void Write(BinaryWriter w, ConnectionRecord record)
    {
        var k = record.Key;
        w.Write(k.Originator.Address.High);
        w.Write(k.Originator.Address.Low);
        w.Write(k.Originator.Port);
        w.Write(k.Responder.Address.High);
        w.Write(k.Responder.Address.Low);
        w.Write(k.Responder.Port);
        w.Write((byte)k.Protocol);
        var s = record.State;
        w.Write((byte)s.Phase);
        w.Write((byte)s.Protocol);
        w.Write(s.OriginatorFinSeen);
        w.Write(s.ResponderFinSeen);
        w.Write(s.OrigPackets);
        w.Write(s.OrigBytes);
        w.Write(s.RespPackets);
        w.Write(s.RespBytes);
        w.Write(s.FirstSeen);
        w.Write(s.LastSeen);
        w.Write((byte)record.Sync);
        w.Write(record.RuleName);
    }

    private static ConnectionRecord ReadRecord(BinaryReader r)
    {
        var origin = NetAddress.FromIPv6(r.ReadUInt64(), r.ReadUInt64());
        var originPort = r.ReadUInt16();
        var responder = NetAddress.FromIPv6(r.ReadUInt64(), r.ReadUInt64());
        var responderPort = r.ReadUInt16();
        var protocol = (IpProtocol)r.ReadByte();
        var key = FlowKey.ForFirstPacket(origin, originPort, responder, responderPort, protocol);
        var state = ConnectionState.Restore((ConnectionPhase)r.ReadByte(), (IpProtocol)r.ReadByte(), r.ReadBoolean(), r.ReadBoolean(),
            r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), r.ReadInt64());
        return new ConnectionRecord(key, state, (SyncMode)r.ReadByte(), r.ReadString());
    }
}
