namespace VslsActors.MultiNode.Harness;

/// <summary>A step of a multi-node run failed; the message tells the story (step, cause, member log tails, folder).</summary>
public sealed class MultiNodeException(string message, Exception? inner = null) : Exception(message, inner);
