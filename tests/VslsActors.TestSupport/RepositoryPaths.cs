namespace VslsActors.TestSupport;

/// <summary>Finds files of the repository from a test's output folder.</summary>
public static class RepositoryPaths
{
    /// <summary>The repository root: the nearest parent folder holding <c>VslsActors.sln</c>.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>A path below the repository root.</summary>
    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VslsActors.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"no VslsActors.sln above {AppContext.BaseDirectory}");
    }
}
