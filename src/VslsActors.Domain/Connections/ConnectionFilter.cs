using System.Globalization;
using VslsActors.Domain.Net;

namespace VslsActors.Domain.Connections;

/// <summary>
/// A compiled connection filter: the expression of <c>vsls ctl conn list &lt;vs&gt; --filter</c>
/// (syntax in <c>docs/connection-filter.md</c>) turned once into a tree of typed tests over a
/// <see cref="ConnectionRow"/>. Values are parsed at compile time (addresses, prefixes, ports,
/// protocols, states), so <see cref="Matches"/> only compares fields and allocates nothing.
/// Immutable and safe to share between threads.
/// </summary>
/// <example>
/// <code>
/// var f = ConnectionFilter.Compile("proto = tcp and resp_p in (80, 443) and not orig_h in 10.0.0.0/8");
/// var hits = rows.Where(r => f.Matches(r));
/// </code>
/// </example>
public sealed class ConnectionFilter
{
    private readonly Node _root;

    private ConnectionFilter(string text, Node root)
    {
        Text = text;
        _root = root;
    }

    /// <summary>The filter text as given.</summary>
    public string Text { get; }

    /// <summary>Whether <paramref name="row"/> satisfies the filter. Allocates nothing.</summary>
    public bool Matches(in ConnectionRow row) => _root.Eval(in row);

    /// <summary>Compiles <paramref name="text"/>.</summary>
    /// <exception cref="FilterException">The text is not a filter; the message names the column.</exception>
    public static ConnectionFilter Compile(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(text);
        return new ConnectionFilter(text, parser.ParseAll());
    }

    /// <summary>Compiles <paramref name="text"/>, or returns false with the one-line error.</summary>
    public static bool TryCompile(string text, out ConnectionFilter? filter, out string error)
    {
        try
        {
            filter = Compile(text);
            error = "";
            return true;
        }
        catch (FilterException e)
        {
            filter = null;
            error = e.Message;
            return false;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Text;

    // ---- fields -------------------------------------------------------------------------

    private enum Field : byte
    {
        Vs, Proto, OrigH, OrigP, RespH, RespP, OrigPkts, OrigBytes, RespPkts, RespBytes, State, Rule, Host, Port,
    }

    private enum Kind : byte { Number, Address, Protocol, State, Text }

    private sealed record FieldInfo(string Name, Field Field, Kind Kind, long Min, long Max, string What);

    private static readonly FieldInfo[] FieldTable =
    [
        new("vs", Field.Vs, Kind.Number, 1, int.MaxValue, "a virtual system id (an integer ≥ 1)"),
        new("proto", Field.Proto, Kind.Protocol, 0, 0, "a protocol (tcp, udp, icmp, icmpv6 or a number 0-255)"),
        new("orig_h", Field.OrigH, Kind.Address, 0, 0, "an IPv4 or IPv6 address"),
        new("orig_p", Field.OrigP, Kind.Number, 0, ushort.MaxValue, "a port (0-65535)"),
        new("resp_h", Field.RespH, Kind.Address, 0, 0, "an IPv4 or IPv6 address"),
        new("resp_p", Field.RespP, Kind.Number, 0, ushort.MaxValue, "a port (0-65535)"),
        new("orig_pkts", Field.OrigPkts, Kind.Number, 0, long.MaxValue, "a count (an integer ≥ 0)"),
        new("orig_bytes", Field.OrigBytes, Kind.Number, 0, long.MaxValue, "a count (an integer ≥ 0)"),
        new("resp_pkts", Field.RespPkts, Kind.Number, 0, long.MaxValue, "a count (an integer ≥ 0)"),
        new("resp_bytes", Field.RespBytes, Kind.Number, 0, long.MaxValue, "a count (an integer ≥ 0)"),
        new("state", Field.State, Kind.State, 0, 0, "a connection state"),
        new("rule", Field.Rule, Kind.Text, 0, 0, "a rule name"),
        new("host", Field.Host, Kind.Address, 0, 0, "an IPv4 or IPv6 address"),
        new("port", Field.Port, Kind.Number, 0, ushort.MaxValue, "a port (0-65535)"),
    ];

    /// <summary>The field names a filter can use, in table order, then the either-side shorthands.</summary>
    // Declared after FieldTable: static initializers run in text order.
    public static IReadOnlyList<string> FieldNames { get; } = FieldTable.Select(static f => f.Name).ToArray();

    // ---- evaluation tree ------------------------------------------------------------------
    // One sealed class per test; a virtual call per node and no boxing: the row travels by
    // reference, the values were parsed at compile time.

    private abstract class Node
    {
        public abstract bool Eval(in ConnectionRow row);
    }

    private sealed class AndNode(Node left, Node right) : Node
    {
        public override bool Eval(in ConnectionRow row) => left.Eval(in row) && right.Eval(in row);
    }

    private sealed class OrNode(Node left, Node right) : Node
    {
        public override bool Eval(in ConnectionRow row) => left.Eval(in row) || right.Eval(in row);
    }

    private sealed class NotNode(Node inner) : Node
    {
        public override bool Eval(in ConnectionRow row) => !inner.Eval(in row);
    }

    private enum Order : byte { Less, LessOrEqual, Greater, GreaterOrEqual }

    private static long Number(Field field, in ConnectionRow row) => field switch
    {
        Field.Vs => row.Vs.Value,
        Field.OrigP => row.OrigPort,
        Field.RespP => row.RespPort,
        Field.OrigPkts => row.OrigPackets,
        Field.OrigBytes => row.OrigBytes,
        Field.RespPkts => row.RespPackets,
        Field.RespBytes => row.RespBytes,
        _ => throw new InvalidOperationException($"field {field} is not a number"),
    };

    private static bool Compare(long actual, Order order, long value) => order switch
    {
        Order.Less => actual < value,
        Order.LessOrEqual => actual <= value,
        Order.Greater => actual > value,
        _ => actual >= value,
    };

    private sealed class NumberOrderNode(Field field, Order order, long value) : Node
    {
        public override bool Eval(in ConnectionRow row) => field == Field.Port
            ? Compare(row.OrigPort, order, value) || Compare(row.RespPort, order, value)
            : Compare(Number(field, in row), order, value);
    }

    private sealed class NumberInNode(Field field, long[] values) : Node
    {
        public override bool Eval(in ConnectionRow row) => field == Field.Port
            ? Contains(row.OrigPort) || Contains(row.RespPort)
            : Contains(Number(field, in row));

        private bool Contains(long v)
        {
            foreach (var x in values)
            {
                if (x == v)
                    return true;
            }
            return false;
        }
    }

    /// <summary>Prefixes as (first, last) bounds computed once: <see cref="IpPrefix.Contains"/> rebuilds its mask per call.</summary>
    private sealed class AddressInNode(Field field, IpPrefix[] prefixes) : Node
    {
        private readonly UInt128[] _first = prefixes.Select(static p => p.First).ToArray();
        private readonly UInt128[] _last = prefixes.Select(static p => p.Last).ToArray();

        public override bool Eval(in ConnectionRow row) => field switch
        {
            Field.OrigH => Contains(row.OrigHost.Value),
            Field.RespH => Contains(row.RespHost.Value),
            _ => Contains(row.OrigHost.Value) || Contains(row.RespHost.Value),
        };

        private bool Contains(UInt128 a)
        {
            for (var i = 0; i < _first.Length; i++)
            {
                if (a >= _first[i] && a <= _last[i])
                    return true;
            }
            return false;
        }
    }

    /// <summary>Protocol and state are bytes: a 256-entry table answers membership in one load.</summary>
    private sealed class ByteSetNode(Field field, bool[] set) : Node
    {
        public override bool Eval(in ConnectionRow row) =>
            set[field == Field.Proto ? (byte)row.Protocol : (byte)row.Phase];
    }

    private sealed class TextInNode(string[] values) : Node
    {
        public override bool Eval(in ConnectionRow row)
        {
            foreach (var v in values)
            {
                if (string.Equals(v, row.Rule, StringComparison.Ordinal))
                    return true;
            }
            return false;
        }
    }

    // ---- tokens ---------------------------------------------------------------------------

    private enum TokenKind : byte { Word, Quoted, LParen, RParen, Comma, Eq, Ne, Lt, Le, Gt, Ge, End }

    private readonly record struct Token(TokenKind Kind, string Text, int Column)
    {
        public bool IsKeyword(string keyword) => Kind == TokenKind.Word && string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);

        public string Describe() => Kind == TokenKind.End ? "end of input" : Kind == TokenKind.Quoted ? $"\"{Text}\"" : $"'{Text}'";
    }

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            var column = i + 1;
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            switch (c)
            {
                case '(':
                    tokens.Add(new Token(TokenKind.LParen, "(", column));
                    i++;
                    continue;
                case ')':
                    tokens.Add(new Token(TokenKind.RParen, ")", column));
                    i++;
                    continue;
                case ',':
                    tokens.Add(new Token(TokenKind.Comma, ",", column));
                    i++;
                    continue;
                case '=':
                    // '==' is what a C or Wireshark hand types; say so rather than "expected a value".
                    if (i + 1 < text.Length && text[i + 1] == '=')
                        throw new FilterException(column, "'==' is not an operator (use '=')");
                    tokens.Add(new Token(TokenKind.Eq, "=", column));
                    i++;
                    continue;
                case '!':
                    if (i + 1 < text.Length && text[i + 1] == '=')
                    {
                        tokens.Add(new Token(TokenKind.Ne, "!=", column));
                        i += 2;
                        continue;
                    }
                    throw new FilterException(column, "unexpected '!' (use '!=' or 'not')");
                case '<' or '>':
                    var orEqual = i + 1 < text.Length && text[i + 1] == '=';
                    var kind = c == '<' ? (orEqual ? TokenKind.Le : TokenKind.Lt) : (orEqual ? TokenKind.Ge : TokenKind.Gt);
                    tokens.Add(new Token(kind, orEqual ? $"{c}=" : c.ToString(), column));
                    i += orEqual ? 2 : 1;
                    continue;
                case '"' or '\'':
                    var close = text.IndexOf(c, i + 1);
                    if (close < 0)
                        throw new FilterException(column, $"string not closed (missing {c})");
                    tokens.Add(new Token(TokenKind.Quoted, text[(i + 1)..close], column));
                    i = close + 1;
                    continue;
            }
            var start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('(' or ')' or ',' or '=' or '!' or '<' or '>' or '"' or '\''))
                i++;
            tokens.Add(new Token(TokenKind.Word, text[start..i], column));
        }
        tokens.Add(new Token(TokenKind.End, "", text.Length + 1));
        return tokens;
    }

    // ---- parser ---------------------------------------------------------------------------
    // filter     := or
    // or         := and ('or' and)*
    // and        := unary ('and' unary)*
    // unary      := 'not' unary | '(' or ')' | comparison
    // comparison := field op value | field ['not'] 'in' (value | '(' value (',' value)* ')')

    private sealed class Parser(string text)
    {
        private readonly List<Token> _tokens = Tokenize(text);
        private int _pos;

        private Token Peek => _tokens[_pos];

        private Token Next() => _tokens[_pos++];

        public Node ParseAll()
        {
            if (Peek.Kind == TokenKind.End)
                throw new FilterException(Peek.Column, "empty filter (expected a comparison such as 'resp_p = 443')");
            var node = ParseOr();
            if (Peek.Kind != TokenKind.End)
            {
                var what = Peek.Kind == TokenKind.RParen ? "')' without a matching '('" : Peek.Describe();
                throw new FilterException(Peek.Column, $"expected 'and', 'or' or end of input, got {what}");
            }
            return node;
        }

        private Node ParseOr()
        {
            var left = ParseAnd();
            while (Peek.IsKeyword("or"))
            {
                Next();
                left = new OrNode(left, ParseAnd());
            }
            return left;
        }

        private Node ParseAnd()
        {
            var left = ParseUnary();
            while (Peek.IsKeyword("and"))
            {
                Next();
                left = new AndNode(left, ParseUnary());
            }
            return left;
        }

        private Node ParseUnary()
        {
            var t = Peek;
            if (t.IsKeyword("not"))
            {
                Next();
                return new NotNode(ParseUnary());
            }
            if (t.Kind == TokenKind.LParen)
            {
                Next();
                var inner = ParseOr();
                var close = Next();
                if (close.Kind != TokenKind.RParen)
                    throw new FilterException(close.Column, $"expected ')' to close the '(' at column {t.Column}, got {close.Describe()}");
                return inner;
            }
            return ParseComparison();
        }

        private Node ParseComparison()
        {
            var name = Next();
            if (name.Kind != TokenKind.Word || name.IsKeyword("and") || name.IsKeyword("or"))
                throw new FilterException(name.Column, $"expected a field name, got {name.Describe()}");
            var field = Array.Find(FieldTable, f => string.Equals(f.Name, name.Text, StringComparison.OrdinalIgnoreCase))
                ?? throw new FilterException(name.Column, $"unknown field '{name.Text}' (fields: {string.Join(", ", FieldNames)})");

            var op = Next();
            var negated = false;
            if (op.IsKeyword("not") && Peek.IsKeyword("in"))
            {
                negated = true;
                op = Next();
            }
            if (op.IsKeyword("in"))
            {
                var set = ParseIn(field, op);
                return negated ? new NotNode(set) : set;
            }
            switch (op.Kind)
            {
                case TokenKind.Eq or TokenKind.Ne:
                    var value = ExpectValue(op);
                    var eq = Set(field, [Convert(field, value, op)]);
                    // For the either-side fields '!=' means "neither side is", the negation of '='.
                    return op.Kind == TokenKind.Ne ? new NotNode(eq) : eq;
                case TokenKind.Lt or TokenKind.Le or TokenKind.Gt or TokenKind.Ge:
                    if (field.Kind != Kind.Number)
                        throw new FilterException(op.Column, $"'{op.Text}' does not apply to {field.Name} (use =, != or in)");
                    var v = ExpectValue(op);
                    var order = op.Kind switch
                    {
                        TokenKind.Lt => Order.Less,
                        TokenKind.Le => Order.LessOrEqual,
                        TokenKind.Gt => Order.Greater,
                        _ => Order.GreaterOrEqual,
                    };
                    return new NumberOrderNode(field.Field, order, (long)Convert(field, v, op));
                default:
                    throw new FilterException(op.Column, $"expected an operator (=, !=, <, <=, >, >=, in) after '{name.Text}', got {op.Describe()}");
            }
        }

        private Node ParseIn(FieldInfo field, Token op)
        {
            if (Peek.Kind != TokenKind.LParen)
            {
                // A single prefix: 'orig_h in 10.0.0.0/8'. Other fields need a list.
                var single = ExpectValue(op);
                if (field.Kind != Kind.Address)
                    throw new FilterException(single.Column, $"expected '(' after 'in' (a list such as ({field.Name} values, ...)), got {single.Describe()}");
                return Set(field, [Convert(field, single, op)]);
            }
            var open = Next();
            var values = new List<object>();
            var previous = open;
            while (true)
            {
                var value = ExpectValue(previous);
                values.Add(Convert(field, value, previous));
                var sep = Next();
                if (sep.Kind == TokenKind.RParen)
                    break;
                if (sep.Kind != TokenKind.Comma)
                    throw new FilterException(sep.Column, $"expected ',' or ')' in the list opened at column {open.Column}, got {sep.Describe()}");
                previous = sep;
            }
            return Set(field, values);
        }

        private Token ExpectValue(Token after)
        {
            var t = Next();
            if (t.Kind is TokenKind.Word or TokenKind.Quoted)
                return t;
            throw new FilterException(t.Column, $"expected a value after '{after.Text}', got {t.Describe()}");
        }

        /// <summary>Parses one value for <paramref name="field"/>: long, IpPrefix, byte (protocol/state) or string.</summary>
        private static object Convert(FieldInfo field, Token value, Token op)
        {
            var s = value.Text;
            switch (field.Kind)
            {
                case Kind.Number:
                    if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= field.Min && n <= field.Max)
                        return n;
                    throw new FilterException(value.Column, $"expected {field.What} for {field.Name}, got {value.Describe()}");
                case Kind.Address:
                    if (s.Contains('/'))
                    {
                        if (!op.IsKeyword("in") && op.Kind is not (TokenKind.LParen or TokenKind.Comma))
                            throw new FilterException(value.Column, $"'{s}' is a prefix; write '{field.Name} in {s}'");
                        if (IpPrefix.TryParse(s, out var prefix, out var error))
                            return prefix;
                        throw new FilterException(value.Column, $"expected an address or prefix for {field.Name}: {error}");
                    }
                    if (NetAddress.TryParse(s, out var address))
                        return IpPrefix.Host(address);
                    throw new FilterException(value.Column, $"expected {field.What} for {field.Name}, got {value.Describe()}");
                case Kind.Protocol:
                    if (IpProtocolNames.TryParse(s, out var protocol))
                        return (byte)protocol;
                    throw new FilterException(value.Column, $"expected {field.What}, got {value.Describe()}");
                case Kind.State:
                    if (ConnectionPhases.TryParseStateName(s, out var phase))
                        return (byte)phase;
                    throw new FilterException(value.Column, $"expected a connection state ({string.Join(", ", ConnectionPhases.StateNames)}), got {value.Describe()}");
                default:
                    return s;
            }
        }

        private static Node Set(FieldInfo field, IReadOnlyList<object> values)
        {
            switch (field.Kind)
            {
                case Kind.Number:
                    return new NumberInNode(field.Field, values.Select(static v => (long)v).Distinct().ToArray());
                case Kind.Address:
                    return new AddressInNode(field.Field, values.Select(static v => (IpPrefix)v).Distinct().ToArray());
                case Kind.Protocol or Kind.State:
                    var set = new bool[256];
                    foreach (var v in values)
                        set[(byte)v] = true;
                    return new ByteSetNode(field.Field, set);
                default:
                    return new TextInNode(values.Select(static v => (string)v).Distinct().ToArray());
            }
        }
    }
}
