namespace VslsActors.Cli;

/// <summary>Entry point of the <c>vsls</c> command.</summary>
public static class Program
{
    /// <summary>Runs <c>vsls</c> with the process's console; returns the exit code.</summary>
    public static Task<int> Main(string[] args) => VslsCli.RunAsync(args, Console.Out, Console.Error, CancellationToken.None);
}
