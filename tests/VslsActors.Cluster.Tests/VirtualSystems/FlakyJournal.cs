using System.Collections.Immutable;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;

namespace VslsActors.Cluster.Tests.VirtualSystems;

/// <summary>
/// The SQL journal with an off switch: while <see cref="Failing"/> is set, every write fails as a
/// database outage would (the write call throws), so tests can show a VS riding out an outage.
/// Static state, so each test that uses it runs in its own test class (xUnit runs the methods of a
/// class one at a time).
/// </summary>
public sealed class FlakyJournal(Config config) : SqlWriteJournal(config)
{
    public static volatile bool Failing;

    public static int FailedWrites;

    protected override Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            Interlocked.Increment(ref FailedWrites);
            return Task.FromException<IImmutableList<Exception>>(new IOException("database unavailable (test outage)"));
        }
        return base.WriteMessagesAsync(messages, cancellationToken);
    }
}
