using BenchmarkDotNet.Attributes;
using VslsActors.Domain;
using VslsActors.Domain.Connections;
using VslsActors.Domain.Net;

namespace VslsActors.Benchmarks;

/// <summary>
/// <c>conn list --filter</c>: a compiled <see cref="ConnectionFilter"/> over 10 000 connection
/// rows against the same test written by hand in C# (the baseline: what the filter would cost
/// if it were compiled code). Target: no allocation per row, and within a small factor of the
/// hand-written predicate. Also the one-off cost of compiling the filter text.
/// </summary>
[MemoryDiagnoser]
public class FilterBenchmarks
{
    private const string FilterText =
        "proto = tcp and resp_p in (80, 443) and not orig_h in 192.168.0.0/16 and (state = tcp-established or rule = \"web out\") and orig_bytes > 1000";

    private static readonly IpPrefix Private192 = IpPrefix.Parse("192.168.0.0/16");

    private ConnectionRow[] _rows = null!;
    private ConnectionFilter _filter = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rnd = new Random(42);
        var phases = Enum.GetValues<ConnectionPhase>();
        var rules = new[] { "web out", "dns", "ssh in", "cleanup" };
        _rows = new ConnectionRow[10_000];
        for (var i = 0; i < _rows.Length; i++)
        {
            var orig = rnd.Next(3) == 0
                ? NetAddress.FromIPv4(0xC0A8_0000u | (uint)rnd.Next(65536))
                : NetAddress.FromIPv4(0x0A00_0000u | (uint)rnd.Next(1 << 24));
            var resp = NetAddress.FromIPv4(0xC000_0200u | (uint)rnd.Next(256));
            ushort[] ports = [80, 443, 53, 22, 8080];
            _rows[i] = new ConnectionRow(
                new VsId(1 + rnd.Next(4)),
                rnd.Next(4) == 0 ? IpProtocol.Udp : IpProtocol.Tcp,
                orig, (ushort)rnd.Next(1024, 65536),
                resp, ports[rnd.Next(ports.Length)],
                rnd.Next(1, 100), rnd.Next(40, 100_000), rnd.Next(0, 100), rnd.Next(0, 1_000_000),
                phases[rnd.Next(phases.Length)],
                rules[rnd.Next(rules.Length)]);
        }
        _filter = ConnectionFilter.Compile(FilterText);
        if (HandWritten() != Compiled())
            throw new InvalidOperationException("the filter and the hand-written predicate disagree");
    }

    /// <summary>The same test as <see cref="FilterText"/>, written in C#.</summary>
    [Benchmark(Baseline = true)]
    public int HandWritten()
    {
        var hits = 0;
        foreach (ref readonly var r in _rows.AsSpan())
        {
            if (r.Protocol == IpProtocol.Tcp
                && (r.RespPort == 80 || r.RespPort == 443)
                && !Private192.Contains(r.OrigHost)
                && (r.Phase == ConnectionPhase.TcpEstablished || r.Rule == "web out")
                && r.OrigBytes > 1000)
            {
                hits++;
            }
        }
        return hits;
    }

    /// <summary>The compiled filter over the same rows.</summary>
    [Benchmark]
    public int Compiled()
    {
        var hits = 0;
        foreach (ref readonly var r in _rows.AsSpan())
        {
            if (_filter.Matches(r))
                hits++;
        }
        return hits;
    }

    /// <summary>Compiling the filter text (once per <c>conn list</c> call).</summary>
    [Benchmark]
    public ConnectionFilter Compile() => ConnectionFilter.Compile(FilterText);
}
