using System.Diagnostics;
using OpenQA.Selenium.Chrome;

namespace VslsActors.Cli.Tests.Dashboard;

/// <summary>
/// Debian's headless Chromium driven through its own <c>/usr/bin/chromedriver</c> (never a downloaded
/// driver). When the two are missing they are installed with apt-get (as root, the way CI runs, like
/// PostgreSQL in <c>PostgresTestServer</c>); when that or the start fails the test fails and says why —
/// the browser test is never skipped silently.
/// </summary>
public static class ChromiumBrowser
{
    public const string Browser = "/usr/bin/chromium";
    public const string Driver = "/usr/bin/chromedriver";

    private static readonly Lazy<string?> s_installProblem = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>A headless Chromium session.</summary>
    public static ChromeDriver Start()
    {
        if (s_installProblem.Value is { } problem)
            throw new InvalidOperationException(problem);
        var options = new ChromeOptions { BinaryLocation = Browser };
        // Root in a container: no sandbox; a small /dev/shm: use /tmp.
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Driver)!, Path.GetFileName(Driver));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        try
        {
            return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        }
        catch (Exception e)
        {
            service.Dispose();
            throw new InvalidOperationException($"headless chromium did not start ({Browser} through {Driver}): {e.Message}", e);
        }
    }

    private static string? Install()
    {
        if (File.Exists(Browser) && File.Exists(Driver))
            return null;
        var start = new ProcessStartInfo("bash", ["-c",
            "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq chromium chromium-driver >/dev/null; }"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start bash");
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 || !File.Exists(Browser) || !File.Exists(Driver))
            return $"the dashboard test needs Debian's chromium and chromium-driver ({Browser}, {Driver}): run as root on a machine where 'apt-get install chromium chromium-driver' works (it failed with exit {process.ExitCode}: {errors.Result.Trim()})";
        return null;
    }
}
