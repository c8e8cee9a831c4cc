using System.Globalization;

namespace VslsActors.MultiNode.Harness;

/// <summary>
/// Makes sure no member process outlives the run that started it, whatever happens to the run:
/// <list type="bullet">
/// <item>every started member is written to a pid file <c>/tmp/vsls-multinode/pids/&lt;owner pid&gt;-&lt;run&gt;.pids</c>
/// (pid and its start time from <c>/proc/&lt;pid&gt;/stat</c>, so a reused pid is never mistaken for a member);</item>
/// <item>on <see cref="AppDomain.ProcessExit"/> (the test host ending normally, or SIGTERM) every member
/// still registered is killed;</item>
/// <item>when the test host itself was killed (SIGKILL: no handler runs), the next run's <see cref="ReapOrphans"/>
/// finds pid files whose owner is gone and kills what they list that is still the same process.</item>
/// </list>
/// </summary>
public static class OrphanGuard
{
    private static readonly object s_gate = new();
    private static readonly Dictionary<int, long> s_live = [];
    private static bool s_hooked;

    /// <summary>Folder of the pid files.</summary>
    public static string PidFolder { get; } = Path.Combine(Path.GetTempPath(), "vsls-multinode", "pids");

    /// <summary>Kills members left by runs whose owner process is gone; returns how many it killed.</summary>
    public static int ReapOrphans(Action<string>? log = null)
    {
        Directory.CreateDirectory(PidFolder);
        var killed = 0;
        foreach (var file in Directory.GetFiles(PidFolder, "*.pids"))
        {
            var name = Path.GetFileName(file);
            var dash = name.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !int.TryParse(name.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var owner))
                continue;
            if (owner != Environment.ProcessId && StartTime(owner) is not null)
                continue; // its owner still runs (another test host): not ours to touch
            if (owner == Environment.ProcessId)
                continue;
            string[] lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (IOException)
            {
                continue;
            }
            foreach (var line in lines)
            {
                var parts = line.Split(' ');
                if (parts.Length != 2 || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var pid) || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out var start))
                    continue;
                if (StartTime(pid) == start)
                {
                    try
                    {
                        using var p = System.Diagnostics.Process.GetProcessById(pid);
                        p.Kill(entireProcessTree: true);
                        killed++;
                        log?.Invoke($"reaped orphan member pid {pid} (left by test process {owner}, {name})");
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                    {
                        // gone in the meantime
                    }
                }
            }
            TryDelete(file);
        }
        return killed;
    }

    internal static string PidFileFor(string runId) => Path.Combine(PidFolder, $"{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{runId}.pids");

    /// <summary>Records a started member.</summary>
    internal static void Register(string runId, int pid)
    {
        var start = StartTime(pid) ?? 0;
        lock (s_gate)
        {
            if (!s_hooked)
            {
                AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAllRegistered();
                s_hooked = true;
            }
            s_live[pid] = start;
            Directory.CreateDirectory(PidFolder);
            File.AppendAllText(PidFileFor(runId), $"{pid} {start}\n");
        }
    }

    /// <summary>Forgets a member process that has ended (or been killed by the run).</summary>
    internal static void Forget(int pid)
    {
        lock (s_gate)
            s_live.Remove(pid);
    }

    /// <summary>Deletes a run's pid file once every member it lists has ended.</summary>
    internal static void Finish(string runId) => TryDelete(PidFileFor(runId));

    private static void KillAllRegistered()
    {
        KeyValuePair<int, long>[] live;
        lock (s_gate)
            live = [.. s_live];
        foreach (var (pid, start) in live)
        {
            if (StartTime(pid) != start)
                continue;
            try
            {
                using var p = System.Diagnostics.Process.GetProcessById(pid);
                p.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // already gone
            }
        }
    }

    /// <summary>Start time of a process in clock ticks since boot (<c>/proc/pid/stat</c> field 22), or null if there is none.</summary>
    internal static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(rest[19], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
        }
    }
}
