using VslsActors.MultiNode.Harness;
using Xunit.Abstractions;

namespace VslsActors.MultiNode.Specs;

/// <summary>Options every spec starts from: its name, its output to the test log.</summary>
internal static class SpecOutput
{
    public static MultiNodeOptions Options(string name, ITestOutputHelper output) => new()
    {
        Name = name,
        Output = line =>
        {
            output.WriteLine(line);
        },
    };
}
