using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace VslsActors.MultiNode.Network;

/// <summary>
/// Creates a TCP socket that lives in a named network namespace, from this process: a dedicated thread
/// enters the namespace (<c>setns</c> changes only the calling thread), creates the socket and leaves.
/// A socket belongs to the namespace it was created in for its whole life, so it can then be bound,
/// connected and used from any thread. This lets a test put a real listener or client "inside" a
/// member's namespace without starting a helper program there.
/// </summary>
public static class NamespaceSockets
{
    private const int CloneNewNet = 0x40000000;
    private const int OpenReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC

    /// <summary>A new IPv4 TCP socket in network namespace <paramref name="ns"/> (a name under /run/netns).</summary>
    public static Socket CreateTcp(string ns)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            var home = open("/proc/thread-self/ns/net", OpenReadOnlyCloseOnExec);
            var target = open($"/run/netns/{ns}", OpenReadOnlyCloseOnExec);
            try
            {
                if (home < 0 || target < 0)
                    throw new NetworkLabException($"cannot open network namespace {ns} (/run/netns/{ns}): errno {Marshal.GetLastPInvokeError()}");
                if (setns(target, CloneNewNet) != 0)
                    throw new NetworkLabException($"cannot enter network namespace {ns}: errno {Marshal.GetLastPInvokeError()}");
                try
                {
                    socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                }
                finally
                {
                    // The thread ends right after, but leave it where it came from all the same.
                    _ = setns(home, CloneNewNet);
                }
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                if (home >= 0)
                    _ = close(home);
                if (target >= 0)
                    _ = close(target);
            }
        })
        {
            IsBackground = true,
            Name = "netns " + ns,
        };
        thread.Start();
        thread.Join();
        return failure is null ? socket! : throw failure;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int setns(int fd, int nstype);

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}
