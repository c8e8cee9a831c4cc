using System.Net;
using System.Net.Sockets;

namespace VslsActors.Node;

/// <summary>Ports for members started on one machine (the demo, benchmarks, tests).</summary>
public static class LocalPorts
{
    /// <summary>Free loopback ports, held open together while choosing so that no two are the same.</summary>
    public static int[] Free(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var l = new TcpListener(IPAddress.Loopback, 0);
                l.Start();
                listeners.Add(l);
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var l in listeners)
                l.Stop();
        }
    }
}
