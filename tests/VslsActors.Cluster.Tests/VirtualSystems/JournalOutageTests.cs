using VslsActors.Cluster.Protocol;
using VslsActors.Domain.Flows;
using static VslsActors.Cluster.Tests.VirtualSystems.VsHarness;

namespace VslsActors.Cluster.Tests.VirtualSystems;

/// <summary>The database briefly unavailable: the VS keeps its connections, retries, and replies only once durable.</summary>
public sealed class JournalOutageTests
{
    [Fact]
    public async Task Deltas_are_retried_through_an_outage_and_the_reply_waits_until_they_are_durable()
    {
        await using var harness = new VsHarness(flakyJournal: true);
        FlakyJournal.Failing = false;
        var first = harness.Start();
        var vs = StartVs(first);
        await SendEach(vs, Handshake(1, 80)); // a connection from before the outage

        FlakyJournal.Failing = true;
        var during = Send(vs, Tcp(2, 80, TcpFlags.Syn), Tcp(1, 80, TcpFlags.Ack | TcpFlags.Psh));
        var failing = await AwaitStatus(vs, s => s.JournalFailures >= 2, "the journal to fail twice");
        Assert.False(during.IsCompleted, "the batch was answered while its delta was not durable");
        Assert.Equal(2, failing.Connections); // nothing lost from memory, the VS did not restart
        Assert.Equal(2, failing.DeltasJournaled);

        // Traffic on known connections goes on meanwhile (its reply waits too: replies stay in order).
        var later = Send(vs, Tcp(1, 80, TcpFlags.Ack, fromServer: true));

        FlakyJournal.Failing = false;
        var counts = await during;
        Assert.Equal(2, counts.Accepted);
        Assert.Equal(1, (await later).Accepted);
        var status = await Status(vs);
        Assert.Equal(3, status.DeltasJournaled);
        Assert.True(status.JournalFailures >= 2);
        await Stop(first);

        // What was retried is really in the journal: both connections come back.
        var second = harness.Start();
        var recovered = StartVs(second);
        Assert.Equal(2, (await Status(recovered)).RecoveredConnections);
        counts = await Send(recovered, Tcp(2, 80, TcpFlags.Syn | TcpFlags.Ack, fromServer: true), Tcp(1, 80, TcpFlags.Ack));
        Assert.Equal(2, counts.Accepted);
    }
}
