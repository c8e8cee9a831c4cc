using System.Text;
using VslsActors.Domain.Topology;

namespace VslsActors.Cluster.Tests.Support;

/// <summary>Small topologies for cluster tests, written in the topology file format.</summary>
public static class TestTopologies
{
    /// <summary>
    /// A topology of <paramref name="members"/> and one VS per entry of <paramref name="priorities"/>
    /// (VS ids 1, 2, … in order; each entry is the VS's priority list, comma-separated). With
    /// <c>acceptAll</c> every VS gets one rule accepting everything (synced immediately), for tests with traffic.
    /// </summary>
    public static Topology Manual(string[] members, string[] priorities, string failback = "primary-up", string distribution = "manual", string? allOnMember = null, bool acceptAll = false)
    {
        var sb = new StringBuilder();
        sb.Append("vsls {\n  members = [").Append(string.Join(", ", members)).Append("]\n");
        sb.Append("  distribution = ").Append(distribution).Append('\n');
        if (allOnMember is not null)
            sb.Append("  all-on-member = ").Append(allOnMember).Append('\n');
        sb.Append("  failback = ").Append(failback).Append('\n');
        sb.Append("  virtual-systems = [\n");
        for (var i = 0; i < priorities.Length; i++)
        {
            sb.Append("    { id = ").Append(i + 1).Append(", name = vs-").Append(i + 1);
            if (priorities[i].Length > 0)
                sb.Append(", priority = [").Append(priorities[i]).Append(']');
            if (acceptAll)
                sb.Append(", policy { rules = [ { name = all, action = accept, sync = immediate } ] }");
            sb.Append(" }\n");
        }
        sb.Append("  ]\n}\n");
        return TopologyLoader.Parse(sb.ToString(), "test topology");
    }
}
