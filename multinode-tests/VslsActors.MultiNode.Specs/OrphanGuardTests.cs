using System.Diagnostics;
using VslsActors.MultiNode.Harness;

namespace VslsActors.MultiNode.Specs;

/// <summary>The guard that leaves no member behind when a test process dies without cleaning up.</summary>
public sealed class OrphanGuardTests
{
    [Fact]
    public void A_process_listed_by_a_dead_test_process_is_reaped_and_a_live_owners_is_not()
    {
        using var orphan = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        using var kept = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        using var gone = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        gone.WaitForExit();
        try
        {
            Directory.CreateDirectory(OrphanGuard.PidFolder);
            // A pid file of an owner that has exited (the `true` above), and one of an owner that runs (this test process).
            var deadFile = Path.Combine(OrphanGuard.PidFolder, $"{gone.Id}-orphan-test.pids");
            var liveFile = Path.Combine(OrphanGuard.PidFolder, $"{Environment.ProcessId}-live-test.pids");
            File.WriteAllText(deadFile, $"{orphan.Id} {OrphanGuard.StartTime(orphan.Id)}\n");
            File.WriteAllText(liveFile, $"{kept.Id} {OrphanGuard.StartTime(kept.Id)}\n");

            OrphanGuard.ReapOrphans();

            Assert.True(orphan.WaitForExit(5000), "the orphan listed by a dead owner was not killed");
            Assert.False(File.Exists(deadFile));
            Assert.False(kept.HasExited, "a process of a live owner was killed");
            File.Delete(liveFile);
        }
        finally
        {
            if (!orphan.HasExited)
                orphan.Kill();
            if (!kept.HasExited)
                kept.Kill();
        }
    }
}
