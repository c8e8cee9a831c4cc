namespace VslsActors.MultiNode;

/// <summary>Console modes of the harness (docs/multinode.md): the failover bench and the no-fault run.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static async Task<int> Main(string[] args) => await Bench.BenchModes.RunAsync(args).ConfigureAwait(false);
}
