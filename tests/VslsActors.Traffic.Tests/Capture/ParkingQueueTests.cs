using VslsActors.Traffic.Capture;

namespace VslsActors.Traffic.Tests.Capture;

public sealed class ParkingQueueTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public void Items_come_out_in_the_order_they_went_in_then_a_completed_queue_says_it_is_done()
    {
        using var queue = new ParkingQueue<int>();
        for (var i = 0; i < 5; i++)
            queue.Add(i);
        queue.CompleteAdding();

        var taken = new List<int>();
        while (queue.TryTake(out var item, CancellationToken.None))
            taken.Add(item);

        Assert.Equal([0, 1, 2, 3, 4], taken);
        Assert.Throws<InvalidOperationException>(() => queue.Add(5));
    }

    [Fact]
    public async Task A_parked_taker_wakes_for_the_item_added_after_it_started_waiting()
    {
        using var queue = new ParkingQueue<string>();
        using var waiting = new ManualResetEventSlim();
        var taker = Task.Factory.StartNew(() =>
        {
            waiting.Set();
            return queue.TryTake(out var item, CancellationToken.None) ? item : null;
        }, TaskCreationOptions.LongRunning);
        waiting.Wait(Patience);

        queue.Add("chunk");

        Assert.Equal("chunk", await taker.WaitAsync(Patience));
    }

    [Fact]
    public async Task Completing_wakes_every_parked_taker_with_false()
    {
        using var queue = new ParkingQueue<int>();
        var takers = Enumerable.Range(0, 3)
            .Select(_ => Task.Factory.StartNew(() => queue.TryTake(out _, CancellationToken.None), TaskCreationOptions.LongRunning))
            .ToArray();

        queue.CompleteAdding();

        Assert.All(await Task.WhenAll(takers).WaitAsync(Patience), Assert.False);
    }

    [Fact]
    public async Task Cancelling_a_parked_taker_throws_operation_cancelled()
    {
        using var queue = new ParkingQueue<int>();
        using var stop = new CancellationTokenSource();
        var taker = Task.Factory.StartNew(() => queue.TryTake(out _, stop.Token), TaskCreationOptions.LongRunning);

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => taker.WaitAsync(Patience));
    }
}
