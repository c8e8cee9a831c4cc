using System.Buffers.Binary;
using System.Globalization;

namespace VslsActors.Traffic.Capture;

/// <summary>
/// Reads the frames of a pcap or pcapng file in managed code (no libpcap), one at a time, into a
/// reused buffer: reading allocates nothing per frame. <see cref="Open(Stream, string, bool)"/> tells the
/// two formats apart by their first four bytes.
/// <para>Bad input never throws: <see cref="TryRead"/> returns false and <see cref="Issue"/>,
/// <see cref="IssueOffset"/> and <see cref="IssueDetail"/> say what stopped the reading
/// (<see cref="CaptureIssue.NotACapture"/>, <see cref="CaptureIssue.TruncatedCapture"/>,
/// <see cref="CaptureIssue.CorruptRecord"/>); every frame before that point has been delivered.
/// An I/O error of the stream itself is not bad input and propagates.</para>
/// </summary>
public abstract class CaptureReader : IDisposable
{
    /// <summary>Records or blocks larger than this are taken as corruption (real snapshot lengths are at most 256 KiB).</summary>
    public const int MaxRecordBytes = 16 * 1024 * 1024;

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private long _consumedBefore; // file offset of _buffer[0]
    private bool _eof;

    private protected CaptureReader(Stream stream, bool ownsStream, byte[] buffer, int end)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        _buffer = buffer;
        _end = end;
    }

    /// <summary>The file's name, as messages show it.</summary>
    public string Name { get; private protected init; } = "";

    /// <summary><c>pcap</c> or <c>pcapng</c>; empty when the file is neither.</summary>
    public abstract string Format { get; }

    /// <summary>What stopped the reading, or <see cref="CaptureIssue.None"/> while frames remain or after a clean end.</summary>
    public CaptureIssue Issue { get; private set; }

    /// <summary>Byte offset in the file where <see cref="Issue"/> was found.</summary>
    public long IssueOffset { get; private set; }

    /// <summary>One line describing <see cref="Issue"/>, or empty.</summary>
    public string IssueDetail { get; private set; } = "";

    /// <summary>Frames delivered so far.</summary>
    public long FramesRead { get; private protected set; }

    /// <summary>Opens <paramref name="path"/> for sequential reading.</summary>
    /// <exception cref="IOException">when the file cannot be opened (the caller reports it).</exception>
    public static CaptureReader Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Open(stream, Path.GetFileName(path), ownsStream: true);
    }

    /// <summary>Reads a capture from <paramref name="stream"/>; <paramref name="name"/> names it in messages.</summary>
    public static CaptureReader Open(Stream stream, string name, bool ownsStream = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var buffer = new byte[1 << 20];
        var end = 0;
        while (end < 4)
        {
            var n = stream.Read(buffer, end, buffer.Length - end);
            if (n == 0)
                break;
            end += n;
        }
        if (end >= 4)
        {
            var magic = BinaryPrimitives.ReadUInt32LittleEndian(buffer);
            switch (magic)
            {
                case PcapReader.MicroLe or PcapReader.MicroBe or PcapReader.NanoLe or PcapReader.NanoBe:
                    return new PcapReader(stream, ownsStream, buffer, end) { Name = name };
                case PcapNgReader.SectionHeader:
                    return new PcapNgReader(stream, ownsStream, buffer, end) { Name = name };
            }
        }
        var reader = new NotACaptureReader(stream, ownsStream, buffer, end) { Name = name };
        reader.Fail(CaptureIssue.NotACapture, 0, end == 0
            ? "the file is empty"
            : $"it starts with {Convert.ToHexString(buffer, 0, Math.Min(end, 4)).ToLowerInvariant()}, which is neither a pcap magic nor a pcapng section header");
        return reader;
    }

    /// <summary>
    /// Reads the next frame. False at the end of the file or when the rest cannot be read
    /// (<see cref="Issue"/> says which); frames that are merely odd (unknown link type) are still
    /// delivered for the decoder to count.
    /// </summary>
    public abstract bool TryRead(out CaptureFrame frame);

    /// <summary>File offset of the next unread byte.</summary>
    private protected long Position => _consumedBefore + _start;

    /// <summary>
    /// Makes <paramref name="count"/> bytes available at <see cref="Available"/>; false at the end of
    /// the stream (then fewer are available).
    /// </summary>
    private protected bool Ensure(int count)
    {
        if (_end - _start >= count)
            return true;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _consumedBefore += _start;
            _end -= _start;
            _start = 0;
        }
        if (count > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(count, _buffer.Length * 2));
        while (_end < count && !_eof)
        {
            var n = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0)
                _eof = true;
            _end += n;
        }
        return _end - _start >= count;
    }

    /// <summary>Bytes available from the read position.</summary>
    private protected int AvailableCount => _end - _start;

    /// <summary>The available bytes from the read position.</summary>
    private protected ReadOnlySpan<byte> Available => _buffer.AsSpan(_start, _end - _start);

    /// <summary>A segment of the buffer at <paramref name="offset"/> from the read position (valid until the next <see cref="Ensure"/>).</summary>
    private protected ArraySegment<byte> Segment(int offset, int count) => new(_buffer, _start + offset, count);

    /// <summary>Moves the read position on by <paramref name="count"/> bytes (which must be available).</summary>
    private protected void Advance(int count) => _start += count;

    /// <summary>
    /// Stops at the end of the stream: clean when nothing is left over, else a truncated capture
    /// whose last <paramref name="what"/> needed <paramref name="needed"/> bytes. Always returns false.
    /// </summary>
    private protected bool EndOrTruncated(string what, int needed)
    {
        if (AvailableCount == 0)
            return false;
        return Fail(CaptureIssue.TruncatedCapture, Position,
            $"the file ends inside a {what} at byte {Position.ToString(CultureInfo.InvariantCulture)} ({AvailableCount.ToString(CultureInfo.InvariantCulture)} of {needed.ToString(CultureInfo.InvariantCulture)} bytes present)");
    }

    /// <summary>Records what stopped the reading; returns false for <c>return Fail(...)</c>.</summary>
    private protected bool Fail(CaptureIssue issue, long offset, string detail)
    {
        Issue = issue;
        IssueOffset = offset;
        IssueDetail = detail;
        _start = _end; // nothing more is read
        _eof = true;
        return false;
    }

    /// <summary>Converts a count of <paramref name="unitsPerSecond"/> units since the Unix epoch into UTC ticks.</summary>
    private protected static long UnixToTicks(ulong units, UInt128 unitsPerSecond, long offsetSeconds)
    {
        // Microsecond resolution (classic pcap, pcapng's default) is an exact multiply: the 128-bit division
        // below, per frame, was a measurable part of the reader thread's time (perf, 2026-11-27).
        var ticks = unitsPerSecond == 1_000_000 && units <= ulong.MaxValue / 10
            ? (UInt128)(units * 10)
            : (UInt128)units * TimeSpan.TicksPerSecond / unitsPerSecond;
        // Clamped: a corrupt timestamp must not overflow; it still orders before/after its neighbours.
        var t = ticks > (UInt128)(DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks) ? DateTime.MaxValue.Ticks - DateTime.UnixEpoch.Ticks : (long)ticks;
        return Math.Clamp(DateTime.UnixEpoch.Ticks + t + offsetSeconds * TimeSpan.TicksPerSecond, DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsStream)
            _stream.Dispose();
        GC.SuppressFinalize(this);
    }

    private sealed class NotACaptureReader(Stream stream, bool ownsStream, byte[] buffer, int end) : CaptureReader(stream, ownsStream, buffer, end)
    {
        public override string Format => "";

        public override bool TryRead(out CaptureFrame frame)
        {
            frame = default;
            return false;
        }
    }
}

/// <summary>
/// Classic pcap: a 24-byte file header (magic in either byte order, microsecond or nanosecond
/// timestamps, one link type for the whole file) and 16-byte record headers.
/// </summary>
internal sealed class PcapReader : CaptureReader
{
    public const uint MicroLe = 0xA1B2C3D4; // as read little-endian from a little-endian file
    public const uint MicroBe = 0xD4C3B2A1;
    public const uint NanoLe = 0xA1B23C4D;
    public const uint NanoBe = 0x4D3CB2A1;
    private const int FileHeaderBytes = 24;
    private const int RecordHeaderBytes = 16;

    private bool _headerRead;
    private bool _bigEndian;
    private uint _unitsPerSecond;
    private int _linkType;

    public PcapReader(Stream stream, bool ownsStream, byte[] buffer, int end) : base(stream, ownsStream, buffer, end)
    {
    }

    public override string Format => "pcap";

    public override bool TryRead(out CaptureFrame frame)
    {
        frame = default;
        if (Issue != CaptureIssue.None)
            return false;
        if (!_headerRead)
        {
            if (!Ensure(FileHeaderBytes))
                return Fail(CaptureIssue.TruncatedCapture, 0, $"the file ends inside the 24-byte pcap file header ({AvailableCount} bytes present)");
            var magic = BinaryPrimitives.ReadUInt32LittleEndian(Available);
            _bigEndian = magic is MicroBe or NanoBe;
            _unitsPerSecond = magic is NanoLe or NanoBe ? 1_000_000_000u : 1_000_000u;
            // The upper bits of the link-type field carry FCS information (pcap-linktype(7)); the type is the low 16 bits.
            _linkType = (int)(U32(Available[20..]) & 0xFFFF);
            Advance(FileHeaderBytes);
            _headerRead = true;
        }
        if (!Ensure(RecordHeaderBytes))
            return EndOrTruncated("pcap record header", RecordHeaderBytes);
        var header = Available;
        var seconds = U32(header);
        var fraction = U32(header[4..]);
        var captured = U32(header[8..]);
        var original = U32(header[12..]);
        var offset = Position;
        if (captured > MaxRecordBytes)
            return Fail(CaptureIssue.CorruptRecord, offset, $"pcap record at byte {offset} claims {captured} captured bytes");
        if (!Ensure(RecordHeaderBytes + (int)captured))
            return EndOrTruncated("pcap record", RecordHeaderBytes + (int)captured);
        var ticks = UnixToTicks((ulong)seconds * _unitsPerSecond + fraction, _unitsPerSecond, 0);
        frame = new CaptureFrame(ticks, _linkType, Segment(RecordHeaderBytes, (int)captured), (int)Math.Min(original, int.MaxValue), ++FramesRead, offset);
        Advance(RecordHeaderBytes + (int)captured);
        return true;
    }

    private uint U32(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
}

/// <summary>
/// pcapng: sections (SHB, each with its own byte order), interface descriptions (IDB: link type,
/// <c>if_tsresol</c>, <c>if_tsoffset</c>), enhanced and simple packet blocks (EPB, SPB) and the
/// obsolete packet block; every other block type is skipped.
/// </summary>
internal sealed class PcapNgReader : CaptureReader
{
    public const uint SectionHeader = 0x0A0D0D0A; // palindromic: the same in both byte orders
    private const uint ByteOrderMagic = 0x1A2B3C4D;
    private const uint InterfaceDescription = 1;
    private const uint ObsoletePacket = 2;
    private const uint SimplePacket = 3;
    private const uint EnhancedPacket = 6;

    private readonly record struct Interface(int LinkType, int SnapLength, UInt128 UnitsPerSecond, long OffsetSeconds);

    private readonly List<Interface> _interfaces = [];
    private bool _bigEndian;
    private bool _inSection;
    private long _lastTimestamp;

    public PcapNgReader(Stream stream, bool ownsStream, byte[] buffer, int end) : base(stream, ownsStream, buffer, end)
    {
    }

    public override string Format => "pcapng";

    public override bool TryRead(out CaptureFrame frame)
    {
        frame = default;
        while (Issue == CaptureIssue.None)
        {
            if (!Ensure(12))
                return EndOrTruncated("pcapng block header", 12);
            var offset = Position;
            var type = BinaryPrimitives.ReadUInt32LittleEndian(Available);
            if (type == SectionHeader)
            {
                // The byte-order magic after the length decides how this section, length included, is read.
                var bom = BinaryPrimitives.ReadUInt32LittleEndian(Available[8..]);
                if (bom == ByteOrderMagic)
                    _bigEndian = false;
                else if (BinaryPrimitives.ReverseEndianness(bom) == ByteOrderMagic)
                    _bigEndian = true;
                else
                    return Fail(CaptureIssue.CorruptRecord, offset, $"pcapng section header at byte {offset} has no byte-order magic");
                _inSection = true;
                _interfaces.Clear();
            }
            else if (!_inSection)
            {
                return Fail(CaptureIssue.CorruptRecord, offset, "the pcapng file does not start with a section header");
            }
            type = U32(Available);
            var length = U32(Available[4..]);
            if (length < 12 || length % 4 != 0 || length > MaxRecordBytes)
                return Fail(CaptureIssue.CorruptRecord, offset, $"pcapng block of type {type} at byte {offset} has length {length}");
            if (!Ensure((int)length))
                return EndOrTruncated($"pcapng block of type {type}", (int)length);
            var block = Available[..(int)length];
            if (U32(block[^4..]) != length)
                return Fail(CaptureIssue.CorruptRecord, offset, $"pcapng block of type {type} at byte {offset}: its trailing length differs from its leading length {length}");
            var body = block[8..^4];
            switch (type)
            {
                case InterfaceDescription:
                    if (body.Length < 8)
                        return Fail(CaptureIssue.CorruptRecord, offset, $"pcapng interface description at byte {offset} is too short");
                    _interfaces.Add(ReadInterface(body));
                    break;
                case EnhancedPacket or ObsoletePacket:
                {
                    if (body.Length < 20)
                        return Fail(CaptureIssue.CorruptRecord, offset, $"pcapng packet block at byte {offset} is too short");
                    var id = type == EnhancedPacket ? (int)U32(body) : U16(body);
                    var high = U32(body[4..]);
                    var low = U32(body[8..]);
                    var captured = U32(body[12..]);
                    var original = U32(body[16..]);
                    if (captured > body.Length - 20)
                        return Fail(CaptureIssue.CorruptRecord, offset, $"pcapng packet block at byte {offset} claims {captured} captured bytes in a {length}-byte block");
                    // An interface id that was never described: the frame is still delivered, with link
                    // type -1, so the decoder counts it as an unknown link type and reading goes on.
                    var known = (uint)id < (uint)_interfaces.Count;
                    var iface = known ? _interfaces[id] : new Interface(-1, 0, 1_000_000, 0);
                    _lastTimestamp = UnixToTicks((ulong)high << 32 | low, iface.UnitsPerSecond, iface.OffsetSeconds);
                    frame = new CaptureFrame(_lastTimestamp, iface.LinkType, Segment(8 + 20, (int)captured), (int)Math.Min(original, int.MaxValue), ++FramesRead, offset);
                    Advance((int)length);
                    return true;
                }
                case SimplePacket:
                {
                    if (body.Length < 4)
                        return Fail(CaptureIssue.CorruptRecord, offset, $"pcapng simple packet block at byte {offset} is too short");
                    var original = U32(body);
                    // An SPB belongs to interface 0 and carries no timestamp nor captured length: it holds
                    // min(original length, snapshot length) bytes; its time is the previous packet's.
                    var iface = _interfaces.Count > 0 ? _interfaces[0] : new Interface(-1, 0, 1_000_000, 0);
                    var captured = (int)Math.Min(original, (uint)(body.Length - 4));
                    if (iface.SnapLength > 0)
                        captured = Math.Min(captured, iface.SnapLength);
                    frame = new CaptureFrame(_lastTimestamp, iface.LinkType, Segment(8 + 4, captured), (int)Math.Min(original, int.MaxValue), ++FramesRead, offset);
                    Advance((int)length);
                    return true;
                }
            }
            Advance((int)length);
        }
        return false;
    }

    private Interface ReadInterface(ReadOnlySpan<byte> body)
    {
        var linkType = U16(body);
        var snapLength = (int)Math.Min(U32(body[4..]), int.MaxValue);
        UInt128 units = 1_000_000; // default if_tsresol: microseconds
        long offsetSeconds = 0;
        var options = body[8..];
        while (options.Length >= 4)
        {
            var code = U16(options);
            var length = U16(options[2..]);
            if (code == 0 || options.Length < 4 + length)
                break;
            var value = options.Slice(4, length);
            if (code == 9 && length >= 1)
            {
                // if_tsresol: high bit clear = 10^-n seconds, set = 2^-n seconds.
                var n = value[0] & 0x7F;
                if ((value[0] & 0x80) == 0)
                {
                    if (n <= 19)
                        units = Pow10(n);
                }
                else if (n <= 64)
                {
                    units = UInt128.One << n;
                }
            }
            else if (code == 14 && length >= 8)
            {
                offsetSeconds = _bigEndian ? BinaryPrimitives.ReadInt64BigEndian(value) : BinaryPrimitives.ReadInt64LittleEndian(value);
            }
            options = options[Math.Min(options.Length, 4 + ((length + 3) & ~3))..];
        }
        if (units == 0)
            units = 1_000_000;
        return new Interface(linkType, snapLength, units, offsetSeconds);
    }

    private static UInt128 Pow10(int n)
    {
        UInt128 r = 1;
        for (var i = 0; i < n; i++)
            r *= 10;
        return r;
    }

    private uint U32(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

    private ushort U16(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);
}
