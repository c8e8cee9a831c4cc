using System.Collections.Immutable;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using Hyperion;
using Hyperion.Internal;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Protocol;
using VslsActors.Cluster.Serialization;
using VslsActors.Domain;

namespace VslsActors.Cluster.Tests.Serialization;

/// <summary>
/// A message sent to a member that names a type outside the allow-list is refused before the type
/// is loaded: at the root, nested inside an allowed message, a type of the project that is simply
/// not a message, a type implementing the message marker that nobody listed, and Hyperion's known
/// gadget types. The payloads are written by an unrestricted Hyperion with the same wire options
/// VSLS uses — what a foreign or malicious peer would send — and read through the serializer the actor
/// system has registered under Hyperion's id, the one remoting uses.
/// </summary>
public sealed class HyperionAllowListSpec : IAsyncLifetime
{
    private const int HyperionId = -5;

    // What an attacker's (or a misconfigured peer's) Hyperion writes: VSLS's wire options
    // (version tolerance, no reference preservation), no restrictions at all.
    private static readonly Hyperion.Serializer Unrestricted = new(SerializerOptions.Default
        .WithVersionTolerance(true)
        .WithPreserveObjectReferences(false)
        .WithIgnoreSerializable(true)
        .WithDisallowUnsafeType(false));

    private HostedSystem? _hosted;

    private ActorSystem Sys => _hosted!.System;

    public async Task InitializeAsync() =>
        _hosted = await HostedSystem.StartAsync("allow-list-spec", b => b.AddVslsSerialization());

    public async Task DisposeAsync()
    {
        if (_hosted is not null)
            await _hosted.DisposeAsync();
    }

    /// <summary>A type that implements the message marker but was never put on the list (it lives in a test assembly).</summary>
    public sealed record SmuggledCommand(VsId VsId, string Path) : IVirtualSystemCommand;

    private static byte[] Write(object value)
    {
        using var stream = new MemoryStream();
        Unrestricted.Serialize(value, stream);
        return stream.ToArray();
    }

    private EvilDeserializationException AssertRefused(byte[] payload, string typeName)
    {
        var thrown = Record.Exception(() => Sys.Serialization.Deserialize(payload, HyperionId, ""));
        Assert.NotNull(thrown);
        var evil = Flatten(thrown).OfType<EvilDeserializationException>().FirstOrDefault();
        Assert.True(evil is not null, $"expected a refusal by the type filter, got {thrown}");
        Assert.Contains(typeName, evil.BadTypeString, StringComparison.Ordinal);
        Assert.Contains("Unsafe Type Deserialization Detected", evil.Message, StringComparison.Ordinal);
        return evil;
    }

    private static IEnumerable<Exception> Flatten(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            yield return e;
    }

    [Fact]
    public void A_payload_that_the_peer_wrote_for_an_allowed_message_is_read()
    {
        // Control: the refusals below are the filter at work, not a format mismatch with the peer.
        var message = new VirtualSystemReplies.Connections(new VsId(3), [Samples.Record(1), Samples.Record(2, ipv6: true)], 2);
        var back = Sys.Serialization.Deserialize(Write(message), HyperionId, "");
        Samples.AssertDeepEqual(message, back);
    }

    [Fact]
    public void A_type_implementing_the_message_marker_but_not_on_the_list_is_refused()
    {
        var evil = AssertRefused(Write(new SmuggledCommand(new VsId(1), "/etc/passwd")), nameof(SmuggledCommand));
        Assert.IsType<UserEvilDeserializationException>(evil);
    }

    [Fact]
    public void A_project_type_that_is_not_a_message_is_refused()
    {
        // Persisted data belongs to the stable-manifest serializer; a peer must not slip it in via Hyperion.
        var state = new RegistryState(4, "vsls {}", ["member-2"]);
        Assert.IsType<UserEvilDeserializationException>(AssertRefused(Write(state), typeof(RegistryState).FullName!));
        var options = new DatabaseOptions(DatabaseProvider.PostgreSql, "Host=evil");
        Assert.IsType<UserEvilDeserializationException>(AssertRefused(Write(options), typeof(DatabaseOptions).FullName!));
    }

    [Fact]
    public void A_foreign_type_nested_inside_an_allowed_message_is_refused()
    {
        // An allowed root (Connections) whose array element names RegistryState instead of
        // ConnectionRecord: the filter checks every name in the payload, not only the root's.
        var payload = Write(new VirtualSystemReplies.Connections(new VsId(3), [Samples.Record(1)], 1));
        var tampered = ReplaceTypeName(payload,
            ShortName(typeof(ConnectionRecord)),
            ShortName(typeof(RegistryState)));
        Assert.IsType<UserEvilDeserializationException>(AssertRefused(tampered, typeof(RegistryState).FullName!));
    }

    [Fact]
    public void A_known_gadget_type_is_refused()
    {
        var payload = Write(new Dictionary<string, string> { ["a"] = "b" }.ToImmutableDictionary());
        AssertRefused(payload, "System.Collections.Immutable.ImmutableDictionary");
        // FileSystemInfo descendants are on Hyperion's own deny list as well as off ours.
        AssertRefused(Write(new FileInfo(Path.Combine(Path.GetTempPath(), "vsls-not-there.txt"))), "System.IO.FileInfo");
    }

    [Fact]
    public void The_restricted_serializer_refuses_to_send_a_type_that_is_not_on_the_list()
    {
        // Defence on the sending side too: a message type nobody listed fails loudly at the sender.
        var message = new SmuggledCommand(new VsId(1), "x");
        var serializer = Sys.Serialization.FindSerializerFor(message);
        Assert.Equal(HyperionId, serializer.Identifier);
        var thrown = Record.Exception(() => { serializer.ToBinary(message); });
        Assert.True(Flatten(thrown).OfType<UserEvilDeserializationException>().Any(), $"got {thrown}");
    }

    [Fact]
    public void Hyperion_own_TypeFilterBuilder_filter_would_refuse_even_allowed_messages_on_the_sending_side()
    {
        // Why VslsSerialization has its own ITypeFilter: Hyperion checks the root object's full
        // assembly-qualified name (with Version=…) on Serialize, but TypeFilterBuilder stores the
        // short names it reads. If a Hyperion upgrade fixes this, this test fails and the custom
        // filter can go.
        var builderFilter = TypeFilterBuilder.Create().Include<VirtualSystemQueries.GetStatus>().Build();
        var hyperion = new Hyperion.Serializer(SerializerOptions.Default.WithDisallowUnsafeType(true).WithTypeFilter(builderFilter));
        using var stream = new MemoryStream();
        Assert.Throws<UserEvilDeserializationException>(() => hyperion.Serialize(new VirtualSystemQueries.GetStatus(new VsId(1)), stream));

        var ours = new Hyperion.Serializer(SerializerOptions.Default.WithDisallowUnsafeType(true).WithTypeFilter(VslsSerialization.CreateTypeFilter()));
        using var ok = new MemoryStream();
        ours.Serialize(new VirtualSystemQueries.GetStatus(new VsId(1)), ok);
        Assert.True(ok.Length > 0);
    }

    [Fact]
    public void The_allow_list_filter_compares_whole_names()
    {
        var filter = VslsSerialization.CreateTypeFilter();
        var allowed = ShortName(typeof(VirtualSystemQueries.GetStatus));
        Assert.True(filter.IsAllowed(allowed));
        Assert.True(filter.IsAllowed(typeof(VirtualSystemQueries.GetStatus).AssemblyQualifiedName!));
        Assert.False(filter.IsAllowed(allowed + "Evil"));
        Assert.False(filter.IsAllowed(allowed[..^3]));
        Assert.False(filter.IsAllowed(allowed.ToUpperInvariant()));
        Assert.False(filter.IsAllowed(""));
    }

    /// <summary>Hyperion's short form of a type name, which is what it writes into payloads.</summary>
    private static string ShortName(Type type) => TypeFilterBuilder.Create().Include(type).Build().FilteredTypes.Single();

    /// <summary>Replaces a length-prefixed UTF-8 type name in a Hyperion payload (int32 length, then the bytes).</summary>
    private static byte[] ReplaceTypeName(byte[] payload, string from, string to)
    {
        var fromBytes = Encoding.UTF8.GetBytes(from);
        var toBytes = Encoding.UTF8.GetBytes(to);
        var at = payload.AsSpan().IndexOf(fromBytes);
        Assert.True(at >= 4, $"'{from}' not found in the payload");
        Assert.Equal(fromBytes.Length, BitConverter.ToInt32(payload, at - 4));
        var result = new List<byte>(payload.Length + toBytes.Length);
        result.AddRange(payload.AsSpan(0, at - 4).ToArray());
        result.AddRange(BitConverter.GetBytes(toBytes.Length));
        result.AddRange(toBytes);
        result.AddRange(payload.AsSpan(at + fromBytes.Length).ToArray());
        return [.. result];
    }
}
