using OpenQA.Selenium;
using VslsActors.Cli.Ctl;
using VslsActors.Cli.Tests.Ctl;

namespace VslsActors.Cli.Tests.Dashboard;

/// <summary>
/// The dashboard page in headless Chromium against three real members: it asks for the token, shows
/// the members x VSs matrix from the API, and follows a failover live (matrix and timeline) when the
/// member a VS is Active on stops — over the server-sent-event stream, with no polling request at all.
/// </summary>
[Collection("ctl cluster")]
public sealed class DashboardBrowserTests(ManagedCluster cluster) : IClassFixture<ManagedCluster>
{
    private static string? Script(IWebDriver driver, string script) =>
        ((IJavaScriptExecutor)driver).ExecuteScript(script)?.ToString();

    private static string? RoleOf(IWebDriver driver, int vs, string member) =>
        Script(driver, $"const c = document.querySelector('#matrix td[data-vs=\"{vs}\"][data-member=\"{member}\"]'); return c ? c.getAttribute('data-role') : null;");

    /// <summary>Collects what is written; <see cref="Seen"/> completes once <paramref name="text"/> was.</summary>
    private sealed class SignalWriter(string text) : TextWriter
    {
        private readonly System.Text.StringBuilder _written = new();

        public TaskCompletionSource Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_written)
            {
                _written.Append(value);
                if (value == '\n' && _written.ToString().Contains(text, StringComparison.Ordinal))
                    Seen.TrySetResult();
            }
        }
    }

    /// <summary>Reads a stream to its end (it must have one: the server closed it); 0 when it ended.</summary>
    private static async Task<int> DrainAsync(Stream stream)
    {
        var buffer = new byte[8192];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await stream.ReadAsync(buffer, cts.Token) is var n && n > 0)
        {
        }
        return 0;
    }

    private static string? Transport(IWebDriver driver) =>
        Script(driver, "return document.querySelector('#status').getAttribute('data-transport')");

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string> state)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (condition())
                return;
            await Task.Delay(250);
        }
        throw new TimeoutException($"the dashboard did not show within {timeout}: {what}; it shows: {state()}");
    }

    [Fact]
    public async Task Dashboard_asks_for_the_token_and_shows_a_failover_in_the_matrix_and_timeline()
    {
        // A VS Active on member-3 (not the oldest member: the VS keeper that records moves lives there), with a Standby.
        var vss = (await ManagedCluster.GetJsonAsync(cluster.Api["member-1"], "vs")).GetProperty("vss").EnumerateArray().ToList();
        var chosen = vss.First(v => v.GetProperty("active").GetString() == "member-3" && v.GetProperty("standby").GetString() is not null);
        var vs = chosen.GetProperty("vs").GetInt32();
        var standby = chosen.GetProperty("standby").GetString()!;

        using var driver = ChromiumBrowser.Start();
        string Matrix() => Script(driver, "return document.querySelector('#matrix') ? document.querySelector('#matrix').innerText + ' | timeline: ' + document.querySelector('#timeline').innerText + ' | ' + document.querySelector('#status').innerText + ' | login: ' + document.querySelector('#login-error').innerText : document.body.innerText") ?? "";
        driver.Navigate().GoToUrl($"http://{cluster.Api["member-1"]}/");

        // The page loads without a token but shows no data: it asks for one; a wrong one is refused.
        Assert.True(driver.FindElement(By.Id("token")).Displayed);
        driver.FindElement(By.Id("token")).SendKeys("not-the-secret");
        driver.FindElement(By.Id("connect")).Click();
        await WaitForAsync(() => Script(driver, "return document.querySelector('#login-error').innerText") == "the token is not accepted",
            TimeSpan.FromSeconds(15), "the wrong token refused", Matrix);
        Assert.Null(RoleOf(driver, vs, "member-3"));

        driver.FindElement(By.Id("token")).SendKeys(ManagedCluster.Secret);
        driver.FindElement(By.Id("connect")).Click();
        await WaitForAsync(() => RoleOf(driver, vs, "member-3") == "active" && RoleOf(driver, vs, standby) == "standby",
            TimeSpan.FromSeconds(20), $"VS {vs} Active on member-3, Standby on {standby}", Matrix);
        Assert.Equal("3", Script(driver, "return String(document.querySelectorAll('#members tbody tr').length)"));
        // Each member's overload badge (docs/degradation.md): every member reports normal.
        await WaitForAsync(() => Script(driver, "return Array.from(document.querySelectorAll('#members tbody .badge')).map(b => b.dataset.level + ':' + b.innerText).join(',')") == "0:normal,0:normal,0:normal",
            TimeSpan.FromSeconds(20), "a normal overload badge on every member", Matrix);
        Assert.Equal("stream", Transport(driver));

        // Streams open on the member that stops (a dashboard, a `cluster tail`) must not hold its shutdown
        // (Kestrel waits for open requests up to the host's 60 s timeout): they end when it begins to stop.
        using var http = ManagedCluster.Client(cluster.Api["member-3"], ManagedCluster.Secret);
        using var dashboardStream = await http.GetStreamAsync("dashboard/stream");
        using var eventStream = await http.GetStreamAsync("cluster/events");
        var firstEvent = new byte[6];
        await dashboardStream.ReadExactlyAsync(firstEvent);
        Assert.Equal("event:", System.Text.Encoding.ASCII.GetString(firstEvent));
        using var client = new CtlClient(cluster.Api["member-3"], ManagedCluster.Secret);
        var tailOutput = new SignalWriter("member-3");
        var tailError = new StringWriter();
        var tail = CtlCommand.RunOneAsync(client, ["cluster", "tail"], new CtlFlags(), tailOutput, tailError, CancellationToken.None);
        await tailOutput.Seen.Task.WaitAsync(TimeSpan.FromSeconds(20));

        await cluster.StopMemberAsync("member-3");
        Assert.Equal(0, await DrainAsync(dashboardStream));
        Assert.Equal(0, await DrainAsync(eventStream));
        // `cluster tail` runs until interrupted: the member ending it is a failure, said in one line.
        Assert.Equal(1, await tail.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Contains("ended the stream", Assert.Single(tailError.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)));

        await WaitForAsync(() => RoleOf(driver, vs, standby) == "active" && RoleOf(driver, vs, "member-3") == "down",
            TimeSpan.FromSeconds(60), $"VS {vs} Active on {standby}, member-3 down", Matrix);
        await WaitForAsync(() => Script(driver, $"return String(document.querySelectorAll('#timeline li[data-kind=\"failover\"][data-vs=\"{vs}\"][data-from=\"member-3\"][data-to=\"{standby}\"]').length)") != "0",
            TimeSpan.FromSeconds(60), $"the failover of VS {vs} member-3 -> {standby} in the timeline", Matrix);
        // Every update came over the stream: the browser's own record of the page's requests (resource
        // timing, kept by the browser, not by the page's code) has no request to the polled routes.
        Assert.Equal("stream", Transport(driver));
        Assert.Equal("", Script(driver, "return performance.getEntriesByType('resource').map(e => e.name).filter(n => /\\/api\\/v1\\/(cluster|ha|vs|audit)/.test(n)).join(' ')"));
        // ...and that record does hold the page's fetch() calls: the stream request refused for the wrong
        // token (finished, so recorded; the open stream is recorded only when it ends).
        Assert.NotEqual("0", Script(driver, "return String(performance.getEntriesByType('resource').filter(e => e.name.endsWith('/api/v1/dashboard/stream')).length)"));
        // The page still holds the token (sessionStorage), so the live updates never asked again.
        Assert.Equal(ManagedCluster.Secret, Script(driver, "return sessionStorage.getItem('vsls-token')"));
    }
}
