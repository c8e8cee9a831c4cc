namespace VslsActors.TestSupport;

/// <summary>A fresh folder under the system temp folder, deleted (best effort) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates <c>vsls-tests-&lt;purpose&gt;-&lt;guid&gt;</c>.</summary>
    public TempDirectory(string purpose = "run")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vsls-tests-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>A file path inside the folder.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A process that still holds a file (SQLite WAL) must not fail the test that used it.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
