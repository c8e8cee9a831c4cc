using System.Collections.Immutable;
using System.Reflection;
using Akka.Actor;
using Akka.Serialization;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Serialization;

namespace VslsActors.Cluster.Tests.Serialization;

/// <summary>
/// Every message and every persisted type, found by reflection, goes through the serializer the
/// production wiring binds it to and comes back equal; nothing falls back to Akka's JSON default.
/// </summary>
public sealed class SerializationSpec : IAsyncLifetime
{
    private HostedSystem? _hosted;

    private ActorSystem Sys => _hosted!.System;

    public async Task InitializeAsync() =>
        _hosted = await HostedSystem.StartAsync("serialization-spec", b => b.AddVslsSerialization());

    public async Task DisposeAsync()
    {
        if (_hosted is not null)
            await _hosted.DisposeAsync();
    }

    public static TheoryData<string> MessageTypeNames() => [.. VslsSerialization.MessageTypes.Select(t => t.FullName!)];

    public static TheoryData<string> PersistedTypeNames() => [.. PersistedTypes().Select(t => t.FullName!)];

    private static IEnumerable<Type> PersistedTypes() =>
        typeof(IVslsPersistedData).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IVslsPersistedData).IsAssignableFrom(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal);

    private static Type TypeNamed(string fullName) => typeof(IVslsMessage).Assembly.GetType(fullName, throwOnError: true)!;

    [Fact]
    public void Reflection_finds_the_protocol_messages()
    {
        // Guards the discovery itself: an empty or partial list would make the theories vacuous.
        Assert.Contains(typeof(VirtualSystemCommands.ProcessPackets), VslsSerialization.MessageTypes);
        Assert.Contains(typeof(VirtualSystemReplies.Connections), VslsSerialization.MessageTypes);
        Assert.True(VslsSerialization.MessageTypes.Length >= 8, string.Join(", ", VslsSerialization.MessageTypes));
        Assert.Equal(4, PersistedTypes().Count());
    }

    [Theory]
    [MemberData(nameof(MessageTypeNames))]
    public void Every_message_round_trips_through_the_restricted_Hyperion_serializer(string typeName)
    {
        var message = Samples.Create(TypeNamed(typeName));

        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.IsType<HyperionSerializer>(serializer);

        var back = RoundTripById(message, serializer);
        Samples.AssertDeepEqual(message, back, typeName);
    }

    [Theory]
    [MemberData(nameof(PersistedTypeNames))]
    public void Every_persisted_type_round_trips_through_the_stable_manifest_serializer(string typeName)
    {
        var data = Samples.Create(TypeNamed(typeName));

        var serializer = Sys.Serialization.FindSerializerFor(data);
        Assert.IsType<VslsPersistenceSerializer>(serializer);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, data);
        Assert.Equal(data.GetType(), VslsPersistenceSerializer.ManifestTypes[manifest]);
        Assert.DoesNotContain(data.GetType().Name, manifest, StringComparison.OrdinalIgnoreCase);

        var back = RoundTripById(data, serializer);
        Samples.AssertDeepEqual(data, back, typeName);
    }

    [Fact]
    public void Every_persisted_type_has_a_manifest_and_no_manifest_names_a_type_twice()
    {
        var tableTypes = VslsPersistenceSerializer.ManifestTypes.Values.ToHashSet();
        Assert.Equal(PersistedTypes().ToHashSet(), tableTypes);
        Assert.Equal(tableTypes.Count, VslsPersistenceSerializer.ManifestTypes.Count);
    }

    [Fact]
    public void No_protocol_type_is_both_a_message_and_persisted_data()
    {
        // A type with both markers would go to whichever binding Akka happens to try first.
        var both = typeof(IVslsMessage).Assembly.GetTypes()
            .Where(t => typeof(IVslsMessage).IsAssignableFrom(t) && typeof(IVslsPersistedData).IsAssignableFrom(t));
        Assert.Empty(both);
    }

    [Fact]
    public void A_reply_with_thousands_of_connections_serializes_in_linear_time()
    {
        // With Hyperion's reference preservation this took ~20 s (quadratic, see CreateHyperionSettings).
        var serializer = Assert.IsType<HyperionSerializer>(Sys.Serialization.FindSerializerForType(typeof(VirtualSystemReplies.Connections)));
        Assert.False(serializer.Settings.PreserveObjectReferences);
        var items = Enumerable.Range(0, 8000).Select(i => Samples.Record(i, ipv6: i % 4 == 0)).ToArray();
        var message = new VirtualSystemReplies.Connections(new Domain.VsId(9), items, items.Length);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var back = (VirtualSystemReplies.Connections)RoundTripById(message, serializer);
        watch.Stop();

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"8,000 connections took {watch.Elapsed.TotalSeconds:F1} s");
        Samples.AssertDeepEqual(items[7999], back.Items[7999]);
        Assert.Equal(items.Length, back.Items.Length);
    }

    [Fact]
    public void Akka_own_messages_keep_Akka_serializers()
    {
        Assert.IsNotType<HyperionSerializer>(Sys.Serialization.FindSerializerFor(PoisonPill.Instance));
        Assert.IsNotType<HyperionSerializer>(Sys.Serialization.FindSerializerFor(new Identify(1)));
    }

    /// <summary>
    /// The allow-list holds exactly what the messages reach: walking the instance fields of every
    /// message (as Hyperion does) from the message types finds every type Hyperion writes a name
    /// for. A type missing from the list would make that message fail between members; a type on
    /// the list that no message reaches widens the boundary for nothing.
    /// </summary>
    [Fact]
    public void Allow_list_is_exactly_the_messages_and_the_types_they_contain()
    {
        var reached = new HashSet<Type>();
        foreach (var message in VslsSerialization.MessageTypes)
            Walk(message, reached);

        var contained = reached.Except(VslsSerialization.MessageTypes).ToHashSet();
        var listed = VslsSerialization.ContainedTypes.ToHashSet();
        Assert.True(contained.SetEquals(listed),
            $"missing from ContainedTypes: [{string.Join(", ", contained.Except(listed))}]; listed but unreached: [{string.Join(", ", listed.Except(contained))}]");
    }

    private static void Walk(Type type, HashSet<Type> reached)
    {
        if (HasOwnHyperionManifest(type) || !reached.Add(type))
            return;
        if (type.IsArray)
        {
            Walk(type.GetElementType()!, reached);
            return;
        }
        Assert.False(type.IsInterface || type.IsAbstract || type == typeof(object),
            $"{type} is polymorphic: Hyperion would accept whatever type a payload names there");
        for (var t = type; t is not null && t != typeof(object) && t != typeof(ValueType); t = t.BaseType)
        {
            foreach (var field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                Walk(field.FieldType, reached);
        }
    }

    /// <summary>Types Hyperion writes with a fixed one-byte manifest instead of a type name.</summary>
    private static bool HasOwnHyperionManifest(Type type) =>
        type == typeof(string) || type == typeof(bool) || type == typeof(byte) || type == typeof(sbyte)
        || type == typeof(short) || type == typeof(ushort) || type == typeof(int) || type == typeof(uint)
        || type == typeof(long) || type == typeof(ulong) || type == typeof(float) || type == typeof(double)
        || type == typeof(decimal) || type == typeof(char) || type == typeof(Guid) || type == typeof(DateTime)
        || type == typeof(DateTimeOffset) || type == typeof(byte[]);

    private object RoundTripById(object value, Serializer serializer)
    {
        var bytes = serializer.ToBinary(value);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, value);
        return Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);
    }
}
