using VslsActors.Domain.Configuration;
using VslsActors.Node;
using VslsActors.Node.Web;

namespace VslsActors.Cli.Tests.Ctl;

public sealed class ManagementOptionsTests
{
    private static VslsNodeOptions Resolve(Dictionary<string, string?> env, NodeArguments? args = null) =>
        VslsNodeOptions.Resolve(env, args ?? new NodeArguments());

    [Fact]
    public void Without_a_token_the_api_is_disabled_on_loopback_5080()
    {
        var o = Resolve([]);
        Assert.NotNull(o.Management);
        Assert.False(o.Management!.Enabled);
        Assert.Equal("127.0.0.1:5080", o.Management.Endpoint);
    }

    [Fact]
    public void Named_tokens_from_the_environment_map_secrets_to_names()
    {
        var o = Resolve(new() { ["VSLS_API_TOKENS"] = "alice:s3cret, ops:xyz", ["VSLS_API"] = "0.0.0.0:6000" }, new NodeArguments(ApiToken: "bare"));
        Assert.True(o.Management!.Enabled);
        Assert.Equal("alice", o.Management.NameOf("s3cret"));
        Assert.Equal("ops", o.Management.NameOf("xyz"));
        Assert.Equal(ManagementOptions.DefaultTokenName, o.Management.NameOf("bare"));
        Assert.Null(o.Management.NameOf("alice"));
        Assert.Equal(6000, o.Management.Port);
    }

    [Fact]
    public void A_token_file_is_read_line_by_line_and_api_off_disables_it()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "# operators\nalice:s3cret\n\nops:xyz\n");
            var o = Resolve(new() { ["VSLS_API_TOKEN_FILE"] = file });
            Assert.Equal("ops", o.Management!.NameOf("xyz"));
            Assert.Null(Resolve(new() { ["VSLS_API_TOKEN_FILE"] = file }, new NodeArguments(Api: "off")).Management);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("VSLS_API", "nowhere", "VSLS_API")]
    [InlineData("VSLS_API_TOKENS", "alice:", "no secret")]
    [InlineData("VSLS_API_TOKENS", "a b:x", "not a token name")]
    [InlineData("VSLS_API_TOKEN_FILE", "/nonexistent/tokens", "cannot read token file")]
    public void Bad_api_settings_name_the_source_and_the_problem(string variable, string value, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Resolve(new() { [variable] = value }));
        Assert.Contains(expected, e.Message);
    }
}

public sealed class CtlShellCompletionTests
{
    [Fact]
    public void Tab_completes_palettes_then_that_palettes_commands_and_nothing_after()
    {
        Assert.Equal(["dist "], VslsActors.Cli.Ctl.CtlShell.Complete("di"));
        Assert.Equal(["dist set-priority ", "dist set-weight "], VslsActors.Cli.Ctl.CtlShell.Complete("dist set"));
        Assert.Equal(["cluster ", "conn "], VslsActors.Cli.Ctl.CtlShell.Complete("c"));
        Assert.Empty(VslsActors.Cli.Ctl.CtlShell.Complete("dist set-weight 1"));
        Assert.Empty(VslsActors.Cli.Ctl.CtlShell.Complete("nope "));
    }
}
