using Akka.Cluster.Sharding;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;

namespace VslsActors.Cluster.Sharding;

/// <summary>
/// Routes <see cref="IWithVsId"/> messages of the <c>virtual-system</c> region: shard id = entity id =
/// the VS id, so that placement decides per VS (a hash extractor would put several VSs in one shard
/// and move them together). Messages for a VS the topology does not configure get no entity id, so the
/// region drops them (logged) instead of starting an entity for a tenant that does not exist.
/// <c>ShardingEnvelope</c> and <c>StartEntity</c> are handled by the region itself (Akka ≥ 1.5.15).
/// </summary>
public sealed class VirtualSystemMessageExtractor : IMessageExtractor
{
    private readonly Func<VsId, bool> _isConfigured;

    /// <summary>An extractor that accepts the VSs <paramref name="isConfigured"/> admits (null: every VS).</summary>
    public VirtualSystemMessageExtractor(Func<VsId, bool>? isConfigured = null) =>
        _isConfigured = isConfigured ?? (static _ => true);

    /// <inheritdoc />
    public string EntityId(object message) =>
        message is IWithVsId m && _isConfigured(m.VsId) ? m.VsId.ToString() : null!;

    /// <inheritdoc />
    public object EntityMessage(object message) => message;

    /// <inheritdoc />
    public string ShardId(object message) =>
        message is IWithVsId m && _isConfigured(m.VsId) ? m.VsId.ToString() : null!;

    /// <inheritdoc />
    public string ShardId(string entityId, object? messageHint = null) => entityId;
}
