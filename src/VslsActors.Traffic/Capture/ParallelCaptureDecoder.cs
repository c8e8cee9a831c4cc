using System.Threading.Channels;

namespace VslsActors.Traffic.Capture;

/// <summary>
/// A frame of a capture after decoding: where it is in the file, when it was captured and what
/// <see cref="PacketDecoder"/> made of it. Unlike <see cref="CaptureFrame"/> it holds no bytes.
/// </summary>
/// <param name="Timestamp">Capture time in UTC ticks.</param>
/// <param name="Number">1-based position of the frame in the file.</param>
/// <param name="Offset">Byte offset of the frame's record (or block) in the file.</param>
/// <param name="Decoded">The decoded packet, or why the frame is not one.</param>
public readonly record struct DecodedCaptureFrame(long Timestamp, long Number, long Offset, DecodedFrame Decoded);

/// <summary>
/// Up to <see cref="ParallelCaptureDecoder.FramesPerChunk"/> consecutive frames of a capture, decoded,
/// in file order. Valid until the next <see cref="ParallelCaptureDecoder.ReadAsync"/> (the chunk is
/// then reused for frames further on).
/// </summary>
public sealed class DecodedChunk
{
    private readonly DecodedCaptureFrame[] _frames = new DecodedCaptureFrame[ParallelCaptureDecoder.FramesPerChunk];

    // The raw frames, copied out of the reader's buffer: the reader moves on while workers decode.
    private byte[] _bytes;
    private readonly int[] _start = new int[ParallelCaptureDecoder.FramesPerChunk];
    private readonly int[] _length = new int[ParallelCaptureDecoder.FramesPerChunk];
    private readonly int[] _linkType = new int[ParallelCaptureDecoder.FramesPerChunk];
    private readonly int[] _originalLength = new int[ParallelCaptureDecoder.FramesPerChunk];
    private int _used;

    internal DecodedChunk(int bytes) => _bytes = new byte[bytes];

    /// <summary>How many frames the chunk holds.</summary>
    public int Count { get; private set; }

    /// <summary>The <paramref name="index"/>th frame of the chunk (0 ≤ index &lt; <see cref="Count"/>).</summary>
    public DecodedCaptureFrame this[int index] => (uint)index < (uint)Count ? _frames[index] : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>Set when the frames are decoded; a new one each time the chunk is handed to the workers.</summary>
    internal TaskCompletionSource? Decoded { get; set; }

    internal bool IsFull => Count == _frames.Length;

    internal void Clear()
    {
        Count = 0;
        _used = 0;
        Decoded = null;
    }

    /// <summary>Copies <paramref name="frame"/> in to be decoded later; false when its bytes do not fit (the chunk is not empty).</summary>
    internal bool TryCopy(in CaptureFrame frame)
    {
        var data = frame.Data.AsSpan();
        if (_bytes.Length - _used < data.Length)
        {
            if (Count > 0)
                return false;
            // A frame larger than a chunk's buffer (a jumbo snapshot length): the chunk grows for it.
            _bytes = new byte[data.Length];
        }
        data.CopyTo(_bytes.AsSpan(_used));
        _start[Count] = _used;
        _length[Count] = data.Length;
        _linkType[Count] = frame.LinkType;
        _originalLength[Count] = frame.OriginalLength;
        _frames[Count] = new DecodedCaptureFrame(frame.Timestamp, frame.Number, frame.Offset, default);
        _used += data.Length;
        Count++;
        return true;
    }

    /// <summary>Decodes every copied frame (on a worker).</summary>
    internal void DecodeAll()
    {
        for (var i = 0; i < Count; i++)
        {
            ref var f = ref _frames[i];
            var frame = new CaptureFrame(f.Timestamp, _linkType[i], new ArraySegment<byte>(_bytes, _start[i], _length[i]), _originalLength[i], f.Number, f.Offset);
            f = f with { Decoded = PacketDecoder.Decode(frame) };
        }
    }

    /// <summary>Decodes <paramref name="frame"/> at once and appends it (no copy: the sequential path).</summary>
    internal void AddDecoded(in CaptureFrame frame) =>
        _frames[Count++] = new DecodedCaptureFrame(frame.Timestamp, frame.Number, frame.Offset, PacketDecoder.Decode(frame));
}

/// <summary>
/// Reads a capture with <see cref="CaptureReader"/> and decodes its frames with
/// <see cref="PacketDecoder"/> on several threads, handing them on in file order.
/// </summary>
/// <remarks>
/// <para><b>Why.</b> PacketDotNet's decoding costs 6–7× the reading of the container and ran on the
/// replay's one dispatching thread, where it capped <c>vsls replay</c> near the decoder's single-thread
/// rate. Frames are independent of each other until the VS sees them, so decoding parallelises; only
/// the order in which they reach the VS matters (a TCP state machine must see SYN before SYN-ACK).</para>
/// <para><b>How.</b> A reader thread copies frames into chunks of at most <see cref="FramesPerChunk"/>
/// frames (1 MiB of bytes) and queues each chunk twice: to the decode workers and, in file order, to
/// the consumer. Workers take any chunk; the consumer (<see cref="ReadAsync"/>) takes the next chunk
/// in order and waits until it is decoded. Chunks come from a fixed pool (2 per worker + 2) that the
/// consumer returns them to, so a slow consumer stops the reader: memory stays flat whatever the
/// capture's size.</para>
/// <para>With 0 workers nothing runs in the background: <see cref="ReadAsync"/> reads and decodes on
/// the caller's thread (the single-threaded path, kept as the benchmark's baseline).</para>
/// <para>Bad input behaves as with <see cref="CaptureReader"/>: every frame before the point where
/// reading stopped is delivered, then the reader's <see cref="CaptureReader.Issue"/> says why; an I/O
/// error of the stream is thrown by <see cref="ReadAsync"/> after the frames before it.</para>
/// </remarks>
public sealed class ParallelCaptureDecoder : IDisposable
{
    /// <summary>Most frames in one chunk.</summary>
    public const int FramesPerChunk = 1024;

    private const int ChunkBytes = 1 << 20;

    private readonly CaptureReader _reader;
    private readonly CancellationTokenSource _stop = new();
    // Parking, not spinning, queues: see ParkingQueue.
    private readonly ParkingQueue<DecodedChunk> _free = new();
    private readonly ParkingQueue<DecodedChunk> _work = new();
    private readonly Channel<DecodedChunk> _inOrder = Channel.CreateUnbounded<DecodedChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly List<Thread> _threads = [];
    private DecodedChunk? _current;
    private bool _done;

    /// <summary>Starts reading <paramref name="reader"/> with <paramref name="workers"/> decode threads (0: decode on the caller's thread).</summary>
    public ParallelCaptureDecoder(CaptureReader reader, int workers)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentOutOfRangeException.ThrowIfNegative(workers);
        _reader = reader;
        Workers = workers;
        if (workers == 0)
        {
            _current = new DecodedChunk(0);
            return;
        }
        for (var i = 0; i < 2 * workers + 2; i++)
            _free.Add(new DecodedChunk(ChunkBytes));
        // Dedicated threads, not the thread pool: they block on their queues, and the pool is where the
        // embedded member's actors run.
        _threads.Add(new Thread(ReadLoop) { IsBackground = true, Name = "capture-reader" });
        for (var i = 0; i < workers; i++)
            _threads.Add(new Thread(DecodeLoop) { IsBackground = true, Name = $"capture-decoder-{i}" });
        foreach (var thread in _threads)
            thread.Start();
    }

    /// <summary>Decode threads (0: decoding on the caller's thread).</summary>
    public int Workers { get; }

    /// <summary>
    /// The next chunk of decoded frames in file order, or null after the last frame. The chunk
    /// returned before is no longer valid.
    /// </summary>
    public async ValueTask<DecodedChunk?> ReadAsync(CancellationToken cancellationToken)
    {
        if (Workers == 0)
            return ReadSequential();
        if (_current is { } previous)
        {
            _current = null;
            previous.Clear();
            _free.Add(previous);
        }
        if (_done || !await _inOrder.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _done = true;
            return null;
        }
        _inOrder.Reader.TryRead(out var chunk);
        await chunk!.Decoded!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        _current = chunk;
        return chunk;
    }

    private DecodedChunk? ReadSequential()
    {
        var chunk = _current!;
        chunk.Clear();
        while (!chunk.IsFull && _reader.TryRead(out var frame))
            chunk.AddDecoded(frame);
        return chunk.Count > 0 ? chunk : null;
    }

    private void ReadLoop()
    {
        var token = _stop.Token;
        try
        {
            var chunk = TakeFree(token);
            while (_reader.TryRead(out var frame))
            {
                if (chunk.IsFull || !chunk.TryCopy(frame))
                {
                    Dispatch(chunk);
                    chunk = TakeFree(token);
                    chunk.TryCopy(frame);
                }
            }
            if (chunk.Count > 0)
                Dispatch(chunk);
            _inOrder.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            _inOrder.Writer.TryComplete();
        }
        catch (Exception e)
        {
            // An I/O error of the stream: the consumer gets it after the chunks before it.
            _inOrder.Writer.TryComplete(e);
        }
        finally
        {
            _work.CompleteAdding();
        }
    }

    // The free pool is never completed: only cancellation (disposal) ends a wait for a chunk.
    private DecodedChunk TakeFree(CancellationToken token)
    {
        _free.TryTake(out var chunk, token);
        return chunk;
    }

    private void Dispatch(DecodedChunk chunk)
    {
        chunk.Decoded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _inOrder.Writer.TryWrite(chunk);
        _work.Add(chunk);
    }

    private void DecodeLoop()
    {
        try
        {
            while (_work.TryTake(out var chunk, _stop.Token))
            {
                try
                {
                    chunk.DecodeAll();
                    chunk.Decoded!.TrySetResult();
                }
                catch (Exception e)
                {
                    // PacketDecoder.Decode does not throw for bad bytes; anything else reaches the consumer.
                    chunk.Decoded!.TrySetException(e);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed: the consumer is gone.
        }
    }

    /// <summary>Stops the threads and waits for them; the reader is the caller's to dispose (after this).</summary>
    public void Dispose()
    {
        _stop.Cancel();
        foreach (var thread in _threads)
            thread.Join();
        _stop.Dispose();
        _free.Dispose();
        _work.Dispose();
    }
}
