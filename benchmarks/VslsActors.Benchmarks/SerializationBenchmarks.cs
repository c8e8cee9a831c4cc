using System.Collections.Immutable;
using Akka.Actor;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Hyperion;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Serialization;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Net;
using VslsActors.Domain.Policy;

namespace VslsActors.Benchmarks;

/// <summary>
/// Writing and reading a VS checkpoint of 100,000 connections with the stable-manifest
/// persistence format, each against Hyperion with VSLS's wire options (version tolerance, no
/// reference preservation — with it Hyperion is quadratic here) on the same connections as a
/// <c>ConnectionRecord[]</c>: what persisted data would cost if it were left on the message serializer. Recovery speed
/// (connections restored per second) is bounded by the read figure.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class SerializationBenchmarks
{
    private const int Connections = 100_000;

    private readonly VslsPersistenceSerializer _vsls = new((ExtendedActorSystem)null!);
    private readonly Serializer _hyperion = new(SerializerOptions.Default.WithVersionTolerance(true).WithPreserveObjectReferences(false));
    private VsCheckpoint _checkpoint = null!;
    private byte[] _vslsBytes = [];
    private byte[] _hyperionBytes = [];
    private ConnectionRecord[] _records = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        string[] rules = ["allow-web", "allow-dns", "allow-ssh", "allow-mgmt"];
        var builder = ImmutableArray.CreateBuilder<ConnectionRecord>(Connections);
        var start = new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc).Ticks;
        for (var i = 0; i < Connections; i++)
        {
            var key = FlowKey.ForFirstPacket(NetAddress.FromIPv4((uint)random.Next()), (ushort)random.Next(1024, 65536),
                NetAddress.FromIPv4((uint)random.Next()), 443, IpProtocol.Tcp);
            var first = start + random.NextInt64(TimeSpan.TicksPerHour);
            var state = ConnectionState.Restore(ConnectionPhase.TcpEstablished, IpProtocol.Tcp, false, false,
                random.Next(3, 5000), random.Next(200, 5_000_000), random.Next(2, 5000), random.Next(200, 50_000_000),
                first, first + random.NextInt64(TimeSpan.TicksPerMinute * 10));
            builder.Add(new ConnectionRecord(key, state, SyncMode.Immediate, rules[i % rules.Length]));
        }
        _checkpoint = new VsCheckpoint(builder.MoveToImmutable(), start);
        _records = [.. _checkpoint.Connections];
        _vslsBytes = _vsls.ToBinary(_checkpoint);
        _hyperionBytes = HyperionWrite();
        Console.WriteLine($"// checkpoint of {Connections}: vsls {_vslsBytes.Length / (double)Connections:F1} B/connection, hyperion {_hyperionBytes.Length / (double)Connections:F1} B/connection");
    }

    [Benchmark(Baseline = true), BenchmarkCategory("write")]
    public byte[] HyperionWrite()
    {
        using var stream = new MemoryStream();
        _hyperion.Serialize(_records, stream);
        return stream.ToArray();
    }

    [Benchmark, BenchmarkCategory("write")]
    public byte[] VslsWrite() => _vsls.ToBinary(_checkpoint);

    [Benchmark(Baseline = true), BenchmarkCategory("read")]
    public object HyperionRead()
    {
        using var stream = new MemoryStream(_hyperionBytes);
        return _hyperion.Deserialize<object>(stream);
    }

    [Benchmark, BenchmarkCategory("read")]
    public object VslsRead() => _vsls.FromBinary(_vslsBytes, VslsPersistenceSerializer.CheckpointManifest);
}
