namespace VslsActors.Cli;

/// <summary>The sample topology (<c>hocon/topology.conf</c>) shipped inside the executable, so that <c>vsls demo</c> runs from any directory.</summary>
public static class SampleTopology
{
    private const string ResourceName = "VslsActors.Cli.sample-topology.conf";

    /// <summary>The file's text.</summary>
    public static string Text()
    {
        using var stream = typeof(SampleTopology).Assembly.GetManifestResourceStream(ResourceName)
                           ?? throw new InvalidOperationException($"the sample topology resource {ResourceName} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Writes the sample into <paramref name="directory"/> and returns its path.</summary>
    public static string WriteTo(string directory)
    {
        var path = Path.Combine(directory, "topology.conf");
        File.WriteAllText(path, Text());
        return path;
    }
}
