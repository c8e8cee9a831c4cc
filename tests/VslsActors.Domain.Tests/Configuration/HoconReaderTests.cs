using VslsActors.Domain.Configuration;

namespace VslsActors.Domain.Tests.Configuration;

public sealed class HoconReaderTests
{
    private static HoconValue Parse(string text) => HoconReader.Parse(text, "test.conf");

    private static string ErrorOf(string text) => Assert.Throws<ConfigException>(() => Parse(text)).Message;

    [Fact]
    public void Hash_and_double_slash_comments_are_ignored_but_a_single_slash_is_text()
    {
        var root = Parse("""
            # a comment
            a = 10.0.0.0/8   // the corporate range
            b = tcp/443 # https
            // c = 3
            """);
        Assert.Equal("10.0.0.0/8", root.GetPath("a")!.Text);
        Assert.Equal("tcp/443", root.GetPath("b")!.Text);
        Assert.Null(root.GetPath("c"));
    }

    [Fact]
    public void Equals_colon_and_brace_separators_are_all_accepted()
    {
        var root = Parse("a = 1\nb : 2\nc { d = 3 }\ne: { f: 4 }");
        Assert.Equal(1, root.GetPath("a")!.GetInt32());
        Assert.Equal(2, root.GetPath("b")!.GetInt32());
        Assert.Equal(3, root.GetPath("c.d")!.GetInt32());
        Assert.Equal(4, root.GetPath("e.f")!.GetInt32());
    }

    [Fact]
    public void A_root_in_braces_is_the_same_as_a_braceless_root()
    {
        Assert.Equal(Parse("a = 1").ToString(), Parse("{ a = 1 }").ToString());
    }

    [Fact]
    public void Dotted_keys_build_nested_objects_and_merge_with_braced_ones()
    {
        var root = Parse("""
            a.b.c = 1
            a { b { d = 2 }, e = 3 }
            "x.y".z = 4
            """);
        Assert.Equal(1, root.GetPath("a.b.c")!.GetInt32());
        Assert.Equal(2, root.GetPath("a.b.d")!.GetInt32());
        Assert.Equal(3, root.GetPath("a.e")!.GetInt32());
        Assert.True(root.TryGetField("x.y", out var quoted));
        Assert.Equal(4, quoted.Value.GetPath("z")!.GetInt32());
    }

    [Fact]
    public void Duplicate_keys_merge_objects_and_the_last_scalar_wins()
    {
        var root = Parse("""
            t { udp = 40s, icmp = 30s }
            t { udp = 60s }
            w = 10
            w = 20
            """);
        Assert.Equal(TimeSpan.FromSeconds(60), root.GetPath("t.udp")!.GetDuration());
        Assert.Equal(TimeSpan.FromSeconds(30), root.GetPath("t.icmp")!.GetDuration());
        Assert.Equal(20, root.GetPath("w")!.GetInt32());
        Assert.Equal(["t", "w"], root.Fields.Select(f => f.Key));
    }

    [Fact]
    public void Arrays_accept_commas_new_lines_comments_and_one_trailing_comma()
    {
        var root = Parse("""
            a = [
              1, 2
              3   # three
              4,
            ]
            b = []
            """);
        Assert.Equal([1, 2, 3, 4], root.GetPath("a")!.Items.Select(i => i.GetInt32()));
        Assert.Empty(root.GetPath("b")!.Items);
    }

    [Fact]
    public void Quoted_strings_support_json_escapes_and_keep_colons()
    {
        var root = Parse("""a = "2001:db8::/32", b = "tab\there \"q\" \u00e9 \\ \/" """);
        Assert.Equal("2001:db8::/32", root.GetPath("a")!.Text);
        Assert.Equal("tab\there \"q\" é \\ /", root.GetPath("b")!.Text);
        Assert.Equal(HoconKind.String, root.GetPath("a")!.Kind);
    }

    [Fact]
    public void Unquoted_scalars_are_typed_as_number_boolean_null_or_string()
    {
        var root = Parse("n = -1.5e3\nt = true\nz = null\ns = member-1\nq = \"10\"");
        Assert.Equal(HoconKind.Number, root.GetPath("n")!.Kind);
        Assert.Equal(HoconKind.Boolean, root.GetPath("t")!.Kind);
        Assert.Equal(HoconKind.Null, root.GetPath("z")!.Kind);
        Assert.Equal(HoconKind.String, root.GetPath("s")!.Kind);
        // HOCON converts a quoted number when a number is asked for.
        Assert.Equal(10, root.GetPath("q")!.GetInt32());
    }

    [Fact]
    public void Values_on_one_line_concatenate_with_their_whitespace()
    {
        var root = Parse("a = 3600 s\nb = hello   \"big\" world  # comment");
        Assert.Equal("3600 s", root.GetPath("a")!.Text);
        Assert.Equal("hello   big world", root.GetPath("b")!.Text);
        Assert.Equal(HoconKind.String, root.GetPath("a")!.Kind);
    }

    [Fact]
    public void Values_remember_their_line_and_column()
    {
        var root = Parse("a {\n  b = [\n    x,\n      y\n  ]\n}");
        var b = root.GetPath("a.b")!;
        Assert.Equal((2, 7), (b.Line, b.Column));
        Assert.Equal((4, 7), (b.Items[1].Line, b.Items[1].Column));
        Assert.True(root.GetPath("a")!.TryGetField("b", out var field));
        Assert.Equal((2, 3), (field.Line, field.Column));
    }

    [Theory]
    [InlineData("25s", 25_000)]
    [InlineData("3600 s", 3_600_000)]
    [InlineData("500ms", 500)]
    [InlineData("1m", 60_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1.5 seconds", 1_500)]
    [InlineData("1d", 86_400_000)]
    [InlineData("0s", 0)]
    [InlineData("\"20 minutes\"", 1_200_000)]
    public void Durations_take_a_number_and_a_unit(string text, long milliseconds)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), Parse($"d = {text}").GetPath("d")!.GetDuration());
    }

    [Theory]
    [InlineData("3600", "test.conf:1: '3600' has no unit; write e.g. 3600s (ms, s, m, h and d are understood)")]
    [InlineData("10 fortnights", "test.conf:1: '10 fortnights' has an unknown unit 'fortnights' (ms, s, m, h and d are understood)")]
    [InlineData("soon", "test.conf:1: 'soon' is not a duration (expected a number and a unit, e.g. 25s)")]
    [InlineData("[1s]", "test.conf:1: expected a duration such as 25s but found a list")]
    public void Bad_durations_are_refused_with_the_line(string text, string message)
    {
        var value = Parse($"d = {text}").GetPath("d")!;
        Assert.Equal(message, Assert.Throws<ConfigException>(() => value.GetDuration()).Message);
    }

    [Theory]
    [InlineData("a { b = [1, 2] ]", "test.conf:1: expected ',', a new line or '}' but found ']' (column 16)")]
    [InlineData("a = [1, 2\nb = 3", "test.conf:2: expected ',', a new line or ']' but found '=' (column 3)")]
    [InlineData("a {\n  b = 1\n", "test.conf:3: expected '}' but found the end of the file (column 1)")]
    [InlineData("a = \"open\nb = 1", "test.conf:1: a quoted string is not closed before the end of the line (column 10)")]
    [InlineData("a b = 1", "test.conf:1: expected '=', ':' or '{' after the key 'a' but found 'b' (column 3)")]
    [InlineData("a = [1,, 2]", "test.conf:1: expected a value but found ',' (column 8)")]
    [InlineData("a = ", "test.conf:1: expected a value but found the end of the file (column 5)")]
    [InlineData("a..b = 1", "test.conf:1: a key has an empty segment ('..' or a leading '.') (column 3)")]
    [InlineData("x = 1\na += 2", "test.conf:2: '+=' is not supported (column 3)")]
    [InlineData("a = \"\"\"text\"\"\"", "test.conf:1: triple-quoted strings are not supported (column 5)")]
    [InlineData("a = \"bad \\q\"", "test.conf:1: unknown escape '\\q' in a quoted string (column 11)")]
    public void Syntax_errors_name_the_file_line_and_column(string text, string message)
    {
        Assert.Equal(message, ErrorOf(text));
    }

    [Fact]
    public void Include_is_refused_with_its_line()
    {
        Assert.Equal(
            "test.conf:2: 'include' is not supported: keep the whole configuration in one file (column 9)",
            ErrorOf("a = 1\ninclude \"other.conf\""));
    }

    [Theory]
    [InlineData("a = 1\nb = ${a}", "test.conf:2: substitutions (${...}) are not supported (column 5)")]
    [InlineData("b = x ${a}", "test.conf:1: substitutions (${...}) are not supported (column 7)")]
    public void Substitutions_are_refused_with_their_line(string text, string message)
    {
        Assert.Equal(message, ErrorOf(text));
    }

    [Fact]
    public void An_unquoted_ipv6_address_is_refused_with_a_hint_to_quote_it()
    {
        Assert.Equal(
            "test.conf:1: ':' after '2001' must be quoted: write IPv6 addresses and other values containing ':' in double quotes, e.g. \"2001:db8::/32\" (column 10)",
            ErrorOf("a = [2001:db8::/32]"));
    }

    [Fact]
    public void A_missing_file_is_a_config_exception_naming_the_path()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vsls-missing-{Guid.NewGuid():N}", "nothing.conf");
        var e = Assert.Throws<ConfigException>(() => HoconReader.Load(path));
        Assert.StartsWith($"{path}: cannot read the file: ", e.Message);
        Assert.Null(e.Line);
    }
}
