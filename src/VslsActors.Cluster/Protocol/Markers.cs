using VslsActors.Domain;

namespace VslsActors.Cluster.Protocol;

/// <summary>
/// Every message that may cross from one member to another. Hyperion is bound to this
/// interface only and its type filter admits only the project's own allow-listed types
/// (see Serialization), so a payload naming any other CLR type is refused.
/// </summary>
public interface IVslsMessage;

/// <summary>A message addressed to one virtual system: its <see cref="VsId"/> is the shard and entity id.</summary>
public interface IWithVsId
{
    /// <summary>The virtual system the message is for.</summary>
    VsId VsId { get; }
}

/// <summary>A command to a virtual system, sent through the <c>virtual-system</c> shard region.</summary>
public interface IVirtualSystemCommand : IWithVsId, IVslsMessage;

/// <summary>A read-only question to a virtual system, sent through the shard region.</summary>
public interface IVirtualSystemQuery : IWithVsId, IVslsMessage;

/// <summary>
/// Durable data: persisted deltas and checkpoints. Bound to the stable-manifest persistence
/// serializer, never to Hyperion, so that journals outlive class renames.
/// </summary>
public interface IVslsPersistedData;
