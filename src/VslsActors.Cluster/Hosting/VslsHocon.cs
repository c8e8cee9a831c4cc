using System.Reflection;
using Akka.Configuration;

namespace VslsActors.Cluster.Hosting;

/// <summary>
/// The HOCON files of <c>hocon/</c>, embedded in this assembly (resource names <c>hocon/&lt;file&gt;</c>)
/// so that a member finds them from any working directory.
/// </summary>
public static class VslsHocon
{
    private const string Prefix = "hocon/";
    private static readonly Assembly Assembly = typeof(VslsHocon).Assembly;

    /// <summary>The embedded file names (<c>akka.conf</c>, …).</summary>
    public static IReadOnlyList<string> Names { get; } = Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
        .Select(n => n[Prefix.Length..])
        .Order(StringComparer.Ordinal)
        .ToArray();

    /// <summary>The text of embedded <paramref name="fileName"/>, or null when it is not embedded.</summary>
    public static string? TryRead(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        using var stream = Assembly.GetManifestResourceStream(Prefix + fileName);
        if (stream is null)
            return null;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>The text of embedded <paramref name="fileName"/>; throws <see cref="FileNotFoundException"/> when it is not embedded.</summary>
    public static string Read(string fileName) => TryRead(fileName)
        ?? throw new FileNotFoundException($"hocon/{fileName} is not embedded in {Assembly.GetName().Name} (embedded: {string.Join(", ", Names)})", fileName);

    /// <summary>Embedded <paramref name="fileName"/> parsed as Akka configuration.</summary>
    public static Config Load(string fileName) => ConfigurationFactory.ParseString(Read(fileName));
}
