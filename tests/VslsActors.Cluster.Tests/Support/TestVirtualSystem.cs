using System.Collections.Concurrent;
using Akka.Actor;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;

namespace VslsActors.Cluster.Tests.Support;

/// <summary>One start of a test VS entity: which VS, on which member, when (UTC ticks).</summary>
public sealed record EntityStart(VsId VsId, string Member, long AtTicks);

/// <summary>
/// A stand-in for the VS entity in wiring tests: answers <see cref="VirtualSystemCommands.EnsureStarted"/>
/// with <see cref="VirtualSystemReplies.Started"/> and <see cref="VirtualSystemQueries.GetStatus"/> with an
/// empty <see cref="VirtualSystemReplies.Status"/>, both naming the member it runs on, and records each
/// start in a log the test reads (that is how a test sees that the keeper started a VS without traffic).
/// </summary>
public sealed class TestVirtualSystem : ReceiveActor
{
    /// <summary>Props of the entity for <paramref name="vs"/> on <paramref name="member"/>.</summary>
    public static Props Props(VsId vs, string member, ConcurrentQueue<EntityStart> starts) =>
        Akka.Actor.Props.Create(() => new TestVirtualSystem(vs, member, starts));

    public TestVirtualSystem(VsId vs, string member, ConcurrentQueue<EntityStart> starts)
    {
        var startedAt = DateTime.UtcNow.Ticks;
        starts.Enqueue(new EntityStart(vs, member, startedAt));
        Receive<VirtualSystemCommands.EnsureStarted>(_ => Sender.Tell(new VirtualSystemReplies.Started(vs, member, startedAt)));
        Receive<VirtualSystemQueries.GetStatus>(_ => Sender.Tell(
            new VirtualSystemReplies.Status(vs, member, 0, 0, VerdictCounts.Zero, 0, 0, 0, 0)));
    }
}
