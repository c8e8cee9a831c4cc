namespace VslsActors.MultiNode.Network;

/// <summary>
/// A network-lab step that failed: the command that ran and what it wrote to stderr, or why the lab
/// cannot run here at all (not root, a tool missing).
/// </summary>
public sealed class NetworkLabException(string message) : Exception(message);
