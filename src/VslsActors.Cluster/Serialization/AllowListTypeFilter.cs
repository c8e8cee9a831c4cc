using System.Collections.Frozen;
using Hyperion;

namespace VslsActors.Cluster.Serialization;

/// <summary>
/// A Hyperion type filter over an explicit set of types. It admits a type name in the two forms
/// Hyperion asks about: the short form it writes into payloads and checks when reading
/// (<c>Ns.Type, Assembly</c>; version, culture and key token removed), and the full
/// <see cref="Type.AssemblyQualifiedName"/> it checks when serializing the root object. Exact,
/// ordinal comparison: no prefixes, no wildcards, no parsing of untrusted names.
/// </summary>
public sealed class AllowListTypeFilter : ITypeFilter
{
    private readonly FrozenSet<string> _names;

    /// <summary>Admits exactly <paramref name="types"/>.</summary>
    public AllowListTypeFilter(IEnumerable<Type> types)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            // Hyperion's own short form (what it writes and reads), built by Hyperion itself.
            foreach (var shortName in TypeFilterBuilder.Create().Include(type).Build().FilteredTypes)
                names.Add(shortName);
            if (type.AssemblyQualifiedName is { } full)
                names.Add(full);
        }
        _names = names.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>The admitted names (short and full form of every type).</summary>
    public IReadOnlySet<string> TypeNames => _names;

    /// <inheritdoc />
    public bool IsAllowed(string typeName) => typeName is not null && _names.Contains(typeName);
}
