using System.Globalization;
using System.Text;
using VslsActors.Domain;

namespace VslsActors.MultiNode.Harness;

/// <summary>
/// The topology the harness runs by default: two VSs Active per member, priority lists rotated so that
/// every member is Standby for two others; each VS accepts <c>tcp/22</c> with <c>sync = immediate</c>
/// and <c>tcp/80</c> with <c>sync = delayed</c> (sync-delay <see cref="SyncDelay"/>), drops the rest.
/// </summary>
public static class HarnessTopology
{
    /// <summary>Sync delay of the delayed rule.</summary>
    public static TimeSpan SyncDelay { get; } = TimeSpan.FromSeconds(1);

    /// <summary>Port of the immediately synced rule.</summary>
    public const ushort ImmediatePort = 22;

    /// <summary>Port of the delay-synced rule.</summary>
    public const ushort DelayedPort = 80;

    /// <summary>VS ids for <paramref name="members"/> members with <paramref name="perMember"/> Active each.</summary>
    public static IReadOnlyList<VsId> VirtualSystems(int members, int perMember = 2) =>
        Enumerable.Range(1, members * perMember).Select(i => new VsId(i)).ToArray();

    /// <summary>The topology text.</summary>
    public static string Text(IReadOnlyList<MemberName> members, int perMember = 2, string failback = "primary-up")
    {
        var b = new StringBuilder();
        b.Append("vsls {\n  members = [").Append(string.Join(", ", members.Select(m => m.Value))).Append("]\n");
        b.Append("  distribution = manual\n  failback = ").Append(failback).Append('\n');
        b.Append("  defaults { weight = 10, max-connections = 100000, sync-delay = ")
            .Append(((int)SyncDelay.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)).Append("ms }\n");
        b.Append("  virtual-systems = [\n");
        var n = members.Count;
        foreach (var vs in VirtualSystems(n, perMember))
        {
            // VS i is Active on member (i-1)/perMember; the rest of the list rotates from there.
            var first = (vs.Value - 1) / perMember;
            var second = (first + 1 + (vs.Value - 1) % perMember) % n;
            if (second == first)
                second = (first + 1) % n;
            var order = new List<int> { first, second };
            order.AddRange(Enumerable.Range(0, n).Where(i => i != first && i != second));
            var id = vs.Value.ToString(CultureInfo.InvariantCulture);
            b.Append("    { id = ").Append(id).Append(", name = vs-").Append(id)
                .Append(", priority = [").Append(string.Join(", ", order.Select(i => members[i].Value))).Append(']')
                .Append(", subnets = [10.").Append(id).Append(".0.0/16]")
                .Append(", policy { rules = [")
                .Append("{ name = ssh, source = any, service = tcp/").Append(ImmediatePort).Append(", action = accept, sync = immediate }, ")
                .Append("{ name = web, source = any, service = tcp/").Append(DelayedPort).Append(", action = accept, sync = delayed }, ")
                .Append("{ name = cleanup, source = any, service = any, action = drop } ] } }\n");
        }
        b.Append("  ]\n}\n");
        return b.ToString();
    }
}
