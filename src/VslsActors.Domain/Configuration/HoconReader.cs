using System.Globalization;
using System.Text;

namespace VslsActors.Domain.Configuration;

/// <summary>
/// A small, strict reader for the subset of HOCON our configuration files use (the Domain
/// has no Akka reference, and no HOCON package is available to it). It follows the HOCON
/// spec for what it supports and refuses the rest with a <see cref="ConfigException"/>
/// naming the file and line, never with a half-understood tree.
/// <para>Supported: <c>#</c> and <c>//</c> comments; <c>key = value</c>, <c>key : value</c> and
/// <c>key { … }</c>; dotted keys (<c>a.b.c = 1</c>) and quoted key segments; a root with or without
/// braces; objects and arrays separated by commas or new lines (one trailing comma allowed);
/// quoted strings with JSON escapes; unquoted strings; concatenation of scalars on one line
/// (<c>3600 s</c>); duplicate keys: objects merge, anything else is replaced (last wins).</para>
/// <para>Not supported, refused by name: <c>include</c>, substitutions <c>${…}</c>, <c>+=</c>,
/// triple-quoted strings.</para>
/// <para>Unquoted strings obey the spec: they may not contain <c>$ " { } [ ] : = , + # ` ^ ? ! @ * &amp; \</c>,
/// whitespace or <c>//</c>. So <c>10.0.0.0/8</c> and <c>tcp/443</c> may be unquoted (a single
/// '/' is not a comment), but IPv6 text must be quoted (<c>"2001:db8::/32"</c>); the reader
/// says so when it meets an unquoted colon in a value.</para>
/// </summary>
public sealed class HoconReader
{
    private readonly string _text;
    private readonly string _origin;
    private int _pos;
    private int _line = 1;
    private int _lineStart;

    private HoconReader(string text, string origin)
    {
        _text = text;
        _origin = origin;
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="origin"/> names the source in messages.</summary>
    /// <exception cref="ConfigException">on any syntax error or unsupported construct.</exception>
    public static HoconValue Parse(string text, string origin)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(origin);
        return new HoconReader(text, origin).ParseRoot();
    }

    /// <summary>Reads and parses a file; an unreadable file is a <see cref="ConfigException"/> too.</summary>
    public static HoconValue Load(string path) => Parse(ReadFile(path), path);

    /// <summary>The whole text of <paramref name="path"/>, or a <see cref="ConfigException"/> saying why it cannot be read.</summary>
    public static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or System.Security.SecurityException)
        {
            throw new ConfigException(path, null, null, null, $"cannot read the file: {e.Message}");
        }
    }

    private int Column => _pos - _lineStart + 1;

    private bool AtEnd => _pos >= _text.Length;

    private char Peek(int ahead = 0) => _pos + ahead < _text.Length ? _text[_pos + ahead] : '\0';

    private ConfigException Error(string problem) => new(_origin, _line, null, null, $"{problem} (column {Column})");

    private string Found()
    {
        if (AtEnd)
            return "the end of the file";
        var c = Peek();
        return c == '\n' ? "a new line" : $"'{c}'";
    }

    private HoconValue ParseRoot()
    {
        SkipBlank(newlines: true);
        HoconValue root;
        if (Peek() == '{')
        {
            root = ParseObject();
            SkipBlank(newlines: true);
            if (!AtEnd)
                throw Error($"expected the end of the file after the root object but found {Found()}");
        }
        else
        {
            // A braceless root spans the whole file: it starts at its first character, comments included.
            root = HoconValue.NewObject(_origin, 1, 1);
            ParseFields(root, closing: null);
        }
        return root;
    }

    private HoconValue ParseObject()
    {
        var obj = HoconValue.NewObject(_origin, _line, Column);
        _pos++; // '{'
        ParseFields(obj, closing: '}');
        _pos++; // '}'
        return obj;
    }

    /// <summary>Fields up to <paramref name="closing"/> (not consumed), or to the end of the text for a braceless root.</summary>
    private void ParseFields(HoconValue obj, char? closing)
    {
        var expectedEnd = closing is null ? "the end of the file" : $"'{closing}'";
        while (true)
        {
            SkipBlank(newlines: true);
            if (AtEnd)
            {
                if (closing is null)
                    return;
                throw Error($"expected {expectedEnd} but found the end of the file");
            }
            if (Peek() == closing)
                return;
            ParseField(obj);
            SkipBlank(newlines: false);
            if (Peek() == ',')
            {
                _pos++;
                SkipBlank(newlines: true);
                if (Peek() == ',')
                    throw Error("expected a key but found ','");
                continue;
            }
            if (Peek() == '\n' || AtEnd || Peek() == closing)
                continue;
            throw Error($"expected ',', a new line or {expectedEnd} but found {Found()}");
        }
    }

    private void ParseField(HoconValue obj)
    {
        var keyLine = _line;
        var keyColumn = Column;
        var (path, singleUnquoted) = ParseKey();
        SkipBlank(newlines: false);
        if (singleUnquoted && path[0] == "include" && Peek() is not ('=' or ':' or '{'))
            throw Error("'include' is not supported: keep the whole configuration in one file");
        HoconValue value;
        switch (Peek())
        {
            case '{':
                value = ParseObject();
                break;
            case '=' or ':':
                _pos++;
                SkipBlank(newlines: true);
                value = ParseValue();
                break;
            case '+' when Peek(1) == '=':
                throw Error("'+=' is not supported");
            default:
                throw Error($"expected '=', ':' or '{{' after the key '{string.Join('.', path)}' but found {Found()}");
        }
        // a.b.c = v is a { b { c = v } }: build the nesting inside out, then merge it in.
        for (var i = path.Count - 1; i > 0; i--)
        {
            var wrapper = HoconValue.NewObject(_origin, keyLine, keyColumn);
            wrapper.SetField(new HoconField(path[i], value, keyLine, keyColumn));
            value = wrapper;
        }
        obj.SetField(new HoconField(path[0], value, keyLine, keyColumn));
    }

    private (List<string> Path, bool SingleUnquoted) ParseKey()
    {
        var path = new List<string>();
        var segment = new StringBuilder();
        var anyQuoted = false;
        var segmentHasText = false;
        while (!AtEnd)
        {
            var c = Peek();
            if (c == '"')
            {
                if (Peek(1) == '"' && Peek(2) == '"')
                    throw Error("triple-quoted strings are not supported");
                segment.Append(ReadQuoted());
                anyQuoted = true;
                segmentHasText = true;
            }
            else if (c == '.')
            {
                if (!segmentHasText)
                    throw Error("a key has an empty segment ('..' or a leading '.')");
                path.Add(segment.ToString());
                segment.Clear();
                segmentHasText = false;
                _pos++;
            }
            else if (IsUnquotedChar(c) && !(c == '/' && Peek(1) == '/'))
            {
                segment.Append(c);
                segmentHasText = true;
                _pos++;
            }
            else
            {
                break;
            }
        }
        if (!segmentHasText)
        {
            if (path.Count == 0)
            {
                if (Peek() == '$')
                    throw Error("substitutions (${...}) are not supported");
                throw Error($"expected a key but found {Found()}");
            }
            throw Error("a key ends with '.'");
        }
        path.Add(segment.ToString());
        return (path, path.Count == 1 && !anyQuoted);
    }

    private HoconValue ParseValue()
    {
        switch (Peek())
        {
            case '{':
                return ParseObject();
            case '[':
                return ParseArray();
        }
        var line = _line;
        var column = Column;
        var text = new StringBuilder();
        var tokens = 0;
        var quoted = false;
        while (true)
        {
            var c = Peek();
            if (c == '"')
            {
                if (Peek(1) == '"' && Peek(2) == '"')
                    throw Error("triple-quoted strings are not supported");
                text.Append(ReadQuoted());
                quoted = true;
            }
            else if (c == '$' && Peek(1) == '{')
            {
                throw Error("substitutions (${...}) are not supported");
            }
            else if (IsUnquotedChar(c) && !(c == '/' && Peek(1) == '/'))
            {
                var start = _pos;
                while (!AtEnd && IsUnquotedChar(Peek()) && !(Peek() == '/' && Peek(1) == '/'))
                    _pos++;
                text.Append(_text, start, _pos - start);
                if (Peek() == ':')
                    throw Error($"':' after '{_text[start.._pos]}' must be quoted: write IPv6 addresses and other values containing ':' in double quotes, e.g. \"2001:db8::/32\"");
            }
            else if (tokens == 0)
            {
                throw Error($"expected a value but found {Found()}");
            }
            else
            {
                break;
            }
            tokens++;
            // A concatenation continues on the same line with the whitespace between the parts kept.
            var wsStart = _pos;
            while (!AtEnd && IsInlineSpace(Peek()))
                _pos++;
            var next = Peek();
            var continues = !AtEnd && (next == '"' || (next == '$' && Peek(1) == '{') || (IsUnquotedChar(next) && !(next == '/' && Peek(1) == '/')));
            if (!continues)
                break;
            text.Append(_text, wsStart, _pos - wsStart);
        }
        var s = text.ToString();
        var kind = HoconKind.String;
        if (tokens == 1 && !quoted)
        {
            kind = s switch
            {
                "true" or "false" => HoconKind.Boolean,
                "null" => HoconKind.Null,
                _ => IsJsonNumber(s) ? HoconKind.Number : HoconKind.String,
            };
        }
        return HoconValue.NewScalar(kind, _origin, line, column, s);
    }

    private HoconValue ParseArray()
    {
        var array = HoconValue.NewArray(_origin, _line, Column);
        _pos++; // '['
        while (true)
        {
            SkipBlank(newlines: true);
            if (AtEnd)
                throw Error("expected ']' but found the end of the file");
            if (Peek() == ']')
            {
                _pos++;
                return array;
            }
            array.AddItem(ParseValue());
            SkipBlank(newlines: false);
            if (Peek() == ',')
            {
                _pos++;
                SkipBlank(newlines: true);
                if (Peek() == ',')
                    throw Error("expected a value but found ','");
                continue;
            }
            if (Peek() is '\n' or ']')
                continue;
            if (AtEnd)
                throw Error("expected ']' but found the end of the file");
            throw Error($"expected ',', a new line or ']' but found {Found()}");
        }
    }

    private string ReadQuoted()
    {
        _pos++; // opening quote
        var sb = new StringBuilder();
        while (true)
        {
            if (AtEnd || Peek() == '\n')
                throw Error("a quoted string is not closed before the end of the line");
            var c = _text[_pos++];
            if (c == '"')
                return sb.ToString();
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            if (AtEnd)
                throw Error("a quoted string is not closed before the end of the file");
            var e = _text[_pos++];
            switch (e)
            {
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    if (_pos + 4 > _text.Length || !ushort.TryParse(_text.AsSpan(_pos, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                        throw Error("'\\u' must be followed by four hexadecimal digits");
                    sb.Append((char)code);
                    _pos += 4;
                    break;
                default:
                    _pos--;
                    throw Error($"unknown escape '\\{e}' in a quoted string");
            }
        }
    }

    /// <summary>Skips spaces and comments, and new lines too when <paramref name="newlines"/>; a comment ends before its new line.</summary>
    private void SkipBlank(bool newlines)
    {
        while (!AtEnd)
        {
            var c = Peek();
            if (c == '\n')
            {
                if (!newlines)
                    return;
                _pos++;
                _line++;
                _lineStart = _pos;
            }
            else if (IsInlineSpace(c))
            {
                _pos++;
            }
            else if (c == '#' || (c == '/' && Peek(1) == '/'))
            {
                while (!AtEnd && Peek() != '\n')
                    _pos++;
            }
            else
            {
                return;
            }
        }
    }

    private static bool IsInlineSpace(char c) => c != '\n' && (char.IsWhiteSpace(c) || c == '\uFEFF');

    private static bool IsUnquotedChar(char c) =>
        c != '\0' && !IsInlineSpace(c) && c != '\n' &&
        c is not ('$' or '"' or '{' or '}' or '[' or ']' or ':' or '=' or ',' or '+' or '#' or '`' or '^' or '?' or '!' or '@' or '*' or '&' or '\\');

    /// <summary>JSON's number grammar: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?</summary>
    private static bool IsJsonNumber(string s)
    {
        var i = 0;
        if (i < s.Length && s[i] == '-')
            i++;
        if (i >= s.Length || !char.IsAsciiDigit(s[i]))
            return false;
        if (s[i] == '0')
            i++;
        else
            while (i < s.Length && char.IsAsciiDigit(s[i]))
                i++;
        if (i < s.Length && s[i] == '.')
        {
            i++;
            if (i >= s.Length || !char.IsAsciiDigit(s[i]))
                return false;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
                i++;
        }
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            if (i < s.Length && s[i] is '+' or '-')
                i++;
            if (i >= s.Length || !char.IsAsciiDigit(s[i]))
                return false;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
                i++;
        }
        return i == s.Length;
    }
}
