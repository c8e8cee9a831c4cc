using System.Collections.Concurrent;

namespace VslsActors.Traffic.Capture;

/// <summary>
/// A first-in first-out queue whose takers park on an operating-system semaphore instead of spinning
/// while it is empty.
/// </summary>
/// <remarks>
/// <see cref="BlockingCollection{T}"/> waits through a <see cref="SemaphoreSlim"/>, and a queue under a
/// <c>lock</c> wakes its takers into a contended <see cref="Monitor"/>: both spin before they block. In
/// <see cref="ParallelCaptureDecoder"/> the decode workers and the reader wait whenever the VS downstream
/// is the slower part, which is most of the time; profiles of <c>vsls replay</c> on the 2-core machine
/// showed a third of each decode thread's CPU time in <c>SpinWait</c> with the first and about a tenth
/// with the second: CPU taken from the VS actor that the replay waits for. A
/// <see cref="Semaphore"/> blocks in the kernel at once. A chunk holds a thousand frames, so the
/// hand-offs are few (a few thousand a second) and the system calls cost nothing measurable.
/// </remarks>
internal sealed class ParkingQueue<T> : IDisposable
{
    private readonly ConcurrentQueue<T> _items = new();
    private readonly Semaphore _available = new(0, int.MaxValue);
    private volatile bool _completed;

    /// <summary>Adds <paramref name="item"/> and wakes one taker.</summary>
    public void Add(T item)
    {
        if (_completed)
            throw new InvalidOperationException("The queue was completed.");
        _items.Enqueue(item);
        _available.Release();
    }

    /// <summary>No more items will be added: takers drain what is left, then get false.</summary>
    public void CompleteAdding()
    {
        _completed = true;
        // Enough wake-ups for every taker there can be (one thread each): each finds the queue empty and completed.
        _available.Release(short.MaxValue);
    }

    /// <summary>
    /// Takes the oldest item, parking until there is one; false once the queue is completed and empty.
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    public bool TryTake(out T item, CancellationToken cancellationToken)
    {
        while (true)
        {
            // Every item added released the semaphore once, so a taker that got through finds one
            // (or the queue is completed: then it passes the wake-up on and ends).
            if (WaitHandle.WaitAny([_available, cancellationToken.WaitHandle]) == 1)
                cancellationToken.ThrowIfCancellationRequested();
            if (_items.TryDequeue(out item!))
                return true;
            if (_completed)
                return false;
        }
    }

    /// <summary>Releases the semaphore; call once no thread waits any more.</summary>
    public void Dispose() => _available.Dispose();
}
