namespace VslsActors.MultiNode.Harness;

/// <summary>
/// A <see cref="PrivatePostgres"/> step that failed (the command that ran, its stderr and the server log's
/// tail), or why the private server cannot run here at all (not root, binaries missing).
/// </summary>
public sealed class PrivatePostgresException(string message) : Exception(message);
