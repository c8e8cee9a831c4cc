namespace VslsActors.MultiNode.Bench;

/// <summary>Dispatches the console modes.</summary>
public static class BenchModes
{
    /// <summary>Runs the mode named by the first argument.</summary>
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("vsls-multinode: modes: failover-bench [--rounds n], steady [--minutes m]");
        return Task.FromResult(args.Length == 0 ? 2 : 2);
    }
}
