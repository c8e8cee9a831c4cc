using System.Collections;
using System.Collections.Immutable;
using System.Reflection;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Cluster.Tests.Serialization;

/// <summary>
/// Sample instances of protocol types built by reflection from their widest public constructor,
/// with every field set to a non-default value, so that a new message or persisted type is covered
/// without anyone writing a sample for it — and a parameter type nobody knows how to fill makes the
/// test fail with a message that says what to add.
/// </summary>
internal static class Samples
{
    public static readonly NetAddress V4A = NetAddress.Parse("10.1.2.3");
    public static readonly NetAddress V4B = NetAddress.Parse("192.168.200.7");
    public static readonly NetAddress V6A = NetAddress.Parse("2001:db8::1");
    public static readonly NetAddress V6B = NetAddress.Parse("2001:db8:ffff::42");

    /// <summary>A connection whose originator is the higher endpoint, so a codec that forgets the originator is caught.</summary>
    public static ConnectionRecord Record(int i, string rule = "allow-web", bool ipv6 = false)
    {
        var (a, b) = ipv6 ? (V6A, V6B) : (V4A, V4B);
        var protocol = (i % 3) switch { 0 => IpProtocol.Tcp, 1 => IpProtocol.Udp, _ => IpProtocol.Icmp };
        var key = FlowKey.ForFirstPacket(b, (ushort)(40000 + i), a, (ushort)(443 + i % 7), protocol);
        var phase = protocol switch
        {
            IpProtocol.Tcp => ConnectionPhase.TcpHalfClosed,
            IpProtocol.Udp => ConnectionPhase.UdpReplied,
            _ => ConnectionPhase.IcmpAnswered,
        };
        var first = new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc).Ticks + i * 1000L;
        var state = ConnectionState.Restore(phase, protocol, originatorFinSeen: i % 2 == 0, responderFinSeen: true,
            origPackets: 3 + i, origBytes: 1500L * (i + 1), respPackets: 2 + i, respBytes: 100_000_000_000L + i,
            firstSeen: first, lastSeen: first + TimeSpan.FromSeconds(30 + i).Ticks);
        return new ConnectionRecord(key, state, (SyncMode)(i % 3), rule);
    }

    public static TimedPacket Packet(int i) => new(
        new DateTime(2025, 3, 1, 12, 0, 0, DateTimeKind.Utc).Ticks + i,
        i % 2 == 0
            ? PacketHeader.Tcp(V4B, (ushort)(50000 + i), V4A, 443, TcpFlags.Syn | TcpFlags.Ack, 60 + i)
            : PacketHeader.Icmp(V6A, V6B, 128, (ushort)(7 + i), 84));

    /// <summary>An instance of <paramref name="type"/> from its widest public constructor.</summary>
    public static object Create(Type type)
    {
        var ctor = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .Where(c => !(c.GetParameters() is [var p] && p.ParameterType == type)) // not a record's copy constructor
            .OrderByDescending(c => c.GetParameters().Length)
            .FirstOrDefault()
            ?? throw new InvalidOperationException($"{type.FullName} has no public constructor; add a sample for it to {nameof(Samples)}");
        var parameters = ctor.GetParameters();
        var args = new object?[parameters.Length];
        for (var i = 0; i < parameters.Length; i++)
            args[i] = Value(parameters[i].ParameterType, i + 1);
        return ctor.Invoke(args);
    }

    /// <summary>A non-default value of <paramref name="type"/>; <paramref name="seed"/> varies it.</summary>
    public static object Value(Type type, int seed)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying) return Value(underlying, seed);
        if (type == typeof(int)) return 17 + seed;
        if (type == typeof(long)) return 9_000_000_000L + seed;
        if (type == typeof(double)) return 12.375 + seed;
        if (type == typeof(string)) return $"text-{seed}-é";
        if (type == typeof(bool)) return true;
        if (type == typeof(byte)) return (byte)(200 + seed);
        if (type == typeof(ushort)) return (ushort)(60000 + seed);
        if (type == typeof(VsId)) return new VsId(40 + seed);
        if (type == typeof(MemberName)) return new MemberName($"member-{seed}");
        if (type == typeof(TimedPacket)) return Packet(seed);
        if (type == typeof(ConnectionRecord)) return Record(seed, ipv6: seed % 2 == 1);
        if (type.IsEnum)
        {
            var values = Enum.GetValues(type);
            return values.GetValue(values.Length - 1)!;
        }
        if (type.IsArray)
        {
            var element = type.GetElementType()!;
            var array = Array.CreateInstance(element, 3);
            for (var i = 0; i < 3; i++)
                array.SetValue(Value(element, seed + i), i);
            return array;
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ImmutableArray<>))
        {
            var element = type.GetGenericArguments()[0];
            var array = Array.CreateInstance(element, 3);
            for (var i = 0; i < 3; i++)
                array.SetValue(Value(element, seed + i), i);
            var create = typeof(ImmutableArray).GetMethods()
                .Single(m => m.Name == nameof(ImmutableArray.Create) && m.GetParameters() is [{ ParameterType.IsArray: true }])
                .MakeGenericMethod(element);
            return create.Invoke(null, [array])!;
        }
        if (type.Assembly == typeof(IVslsMessage).Assembly && !type.IsAbstract)
            return Create(type);
        throw new InvalidOperationException($"no sample value for {type.FullName}; add one to {nameof(Samples)}.{nameof(Value)}");
    }

    /// <summary>
    /// Structural equality with a path in the failure message: records compare their public
    /// properties, collections element by element (records' own Equals compares arrays and
    /// ImmutableArrays by reference), and a <see cref="FlowKey"/> also its originator, which its
    /// Equals deliberately ignores.
    /// </summary>
    public static void AssertDeepEqual(object? expected, object? actual, string path = "value")
    {
        if (expected is null || actual is null)
        {
            Assert.True(expected is null && actual is null, $"{path}: expected {expected ?? "null"}, got {actual ?? "null"}");
            return;
        }
        var type = expected.GetType();
        Assert.True(type == actual.GetType(), $"{path}: expected a {type.Name}, got a {actual.GetType().Name}");
        if (expected is FlowKey ek)
        {
            var ak = (FlowKey)actual;
            Assert.True(ek == ak && ek.Originator == ak.Originator && ek.Protocol == ak.Protocol,
                $"{path}: expected {ek}, got {ak}");
            return;
        }
        if (type.IsPrimitive || type.IsEnum || expected is string || type == typeof(UInt128) || type == typeof(NetAddress))
        {
            Assert.True(expected.Equals(actual), $"{path}: expected {expected}, got {actual}");
            return;
        }
        if (expected is IEnumerable ee)
        {
            var e = ee.Cast<object?>().ToList();
            var a = ((IEnumerable)actual).Cast<object?>().ToList();
            Assert.True(e.Count == a.Count, $"{path}: expected {e.Count} items, got {a.Count}");
            for (var i = 0; i < e.Count; i++)
                AssertDeepEqual(e[i], a[i], $"{path}[{i}]");
            return;
        }
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
            .ToList();
        Assert.True(properties.Count > 0 || expected.Equals(actual), $"{path}: {type.Name} has no properties to compare");
        foreach (var p in properties)
            AssertDeepEqual(p.GetValue(expected), p.GetValue(actual), $"{path}.{p.Name}");
    }
}
