using System.Runtime.InteropServices;

namespace VslsActors.MultiNode.Network;

/// <summary>
/// What the network lab needs from the machine (Linux, root, <c>ip</c> and <c>iptables</c>), checked up
/// front so that a spec that cannot run fails at once with the reason instead of half-building a lab.
/// </summary>
public static class NetworkLabRequirements
{
    /// <summary>True when this process runs with effective uid 0.</summary>
    public static bool IsRoot => OperatingSystem.IsLinux() && geteuid() == 0;

    /// <summary>
    /// Throws <see cref="NetworkLabException"/> saying plainly why the lab cannot be built here; returns
    /// when it can. Not a skip: CI (<c>.ci/run</c>) runs as root with the tools installed, so a spec that
    /// needs the lab and meets this is a failure to be seen, not a silent pass.
    /// </summary>
    public static void EnsureCanRun()
    {
        if (WhyNot(OperatingSystem.IsLinux(), OperatingSystem.IsLinux() ? geteuid() : uint.MaxValue, ToolPath) is { } reason)
            throw new NetworkLabException(reason);
    }

    /// <summary>The reason the lab cannot run on a machine like this one, or null when it can.</summary>
    public static string? WhyNot(bool isLinux, uint effectiveUid, Func<string, string?> toolPath)
    {
        const string what = "it creates network namespaces (vsls-<run>-<member>), a veth pair per member, a Linux bridge " +
                            "(vslb<run>) and iptables DROP rules inside the namespaces";
        if (!isLinux)
            return $"the network-partition lab needs Linux: {what}; this is {RuntimeInformation.OSDescription}";
        if (effectiveUid != 0)
            return $"the network-partition lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): {what}; this process runs as uid {effectiveUid}. " +
                   "Run it as root, as .ci/run does (CI runs as root and installs iptables)";
        foreach (var tool in new[] { "ip", "iptables" })
        {
            if (toolPath(tool) is null)
                return $"the network-partition lab needs `{tool}` (Debian packages iproute2 and iptables; .ci/run installs them) and it is not on PATH";
        }
        return null;
    }

    /// <summary>The full path of <paramref name="tool"/>, or null when it is not installed.</summary>
    public static string? ToolPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin")
        .Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) // root's tools live in sbin, which a test runner's PATH may leave out
        .Select(dir => Path.Combine(dir, tool))
        .FirstOrDefault(File.Exists);

    [DllImport("libc")]
    private static extern uint geteuid();
}
