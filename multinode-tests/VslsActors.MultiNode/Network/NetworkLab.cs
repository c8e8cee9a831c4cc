using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using VslsActors.Domain;

namespace VslsActors.MultiNode.Network;

/// <summary>
/// A private network for one multi-node run, built from real Linux parts so that a partition is a real
/// dropped-packet partition (a cut cable), not a simulated one:
/// a bridge <c>vslb&lt;run&gt;</c> in the root namespace with <c>10.231.&lt;n&gt;.254/24</c>; per member a network
/// namespace <c>vsls-&lt;run&gt;-&lt;member&gt;</c> with <c>lo</c> up and <c>eth0</c> = <c>10.231.&lt;n&gt;.&lt;i&gt;/24</c>, whose veth
/// peer <c>vslh&lt;run&gt;m&lt;i&gt;</c> is a port of the bridge. The test process (root namespace) reaches every
/// member through the bridge, and members reach each other. <see cref="PartitionAsync"/> adds iptables
/// DROP rules inside the members' namespaces; <see cref="HealAsync"/> removes exactly those.
/// Needs root (<see cref="NetworkLabRequirements"/>). Disposing removes everything even after a failed
/// spec; creating a lab first reaps what a crashed earlier run left behind.
/// </summary>
public sealed class NetworkLab : IAsyncDisposable
{
    /// <summary>Where each lab records its owner (pid, start time) so that the next start can tell abandoned labs from live ones.</summary>
    public const string StateDirectory = "/run/vsls-netlab";

    /// <summary>Prefix of every namespace the lab creates.</summary>
    public const string NamespacePrefix = "vsls-";

    /// <summary>The /16 the labs take their /24 from; 10.231 is rarely used by Docker, VPNs or cloud VPCs.</summary>
    private const string SubnetPrefix = "10.231.";

    /// <summary>Comment on every DROP rule, so that <c>iptables -S</c> shows whose rule it is.</summary>
    private const string RuleComment = "vsls-lab partition";

    private readonly List<DropRule> _rules = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<MemberName, LabMember> _byName;
    private bool _disposed;

    private NetworkLab(string runId, int subnet, IReadOnlyList<LabMember> members)
    {
        RunId = runId;
        Subnet = subnet;
        Members = members;
        _byName = members.ToDictionary(m => m.Name);
    }

    /// <summary>Six hex digits that name every part of this lab.</summary>
    public string RunId { get; }

    /// <summary>The third octet of the lab's /24.</summary>
    public int Subnet { get; }

    /// <summary>The bridge in the root namespace.</summary>
    public string BridgeName => BridgeNameOf(RunId);

    /// <summary>The root namespace's address on the bridge (<c>10.231.&lt;n&gt;.254</c>).</summary>
    public IPAddress BridgeAddress => IPAddress.Parse($"{SubnetPrefix}{Subnet}.254");

    /// <summary>Every member's place, in the order given to <see cref="CreateAsync"/>.</summary>
    public IReadOnlyList<LabMember> Members { get; }

    /// <summary>A member's place in the lab.</summary>
    public LabMember this[MemberName member] =>
        _byName.TryGetValue(member, out var m) ? m : throw new ArgumentException($"{member} is not in network lab {RunId}", nameof(member));

    /// <summary>The DROP rules in force now, as <c>namespace: iptables rule</c>.</summary>
    public IReadOnlyList<string> ActiveRules
    {
        get
        {
            lock (_rules)
                return _rules.Select(r => r.ToString()).ToArray();
        }
    }

    /// <summary>
    /// Builds a lab with one namespace per member (at most 253 members). Fails at once, with the reason,
    /// when not root or without <c>ip</c>/<c>iptables</c>; a failure half-way removes what was built.
    /// </summary>
    public static async Task<NetworkLab> CreateAsync(IReadOnlyList<MemberName> members)
    {
        NetworkLabRequirements.EnsureCanRun();
        if (members.Count is 0 or > 253)
            throw new ArgumentException($"a network lab holds 1 to 253 members, not {members.Count}", nameof(members));
        if (members.Distinct().Count() != members.Count)
            throw new ArgumentException("a member is named twice", nameof(members));
        Directory.CreateDirectory(StateDirectory);
        // One lab is built at a time on the machine (parallel test runs from several worktrees): picking a
        // free subnet and reaping abandoned labs must not race with another lab being built.
        using var machineLock = await AcquireMachineLockAsync().ConfigureAwait(false);
        await ReapAbandonedAsync().ConfigureAwait(false);
        var runId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var subnet = await FreeSubnetAsync().ConfigureAwait(false);
        var places = members
            .Select((name, i) => new LabMember(
                name,
                i + 1,
                $"{NamespacePrefix}{runId}-{name.Value}",
                IPAddress.Parse($"{SubnetPrefix}{subnet}.{i + 1}"),
                $"vslh{runId}m{i + 1}"))
            .ToArray();
        // The owner record comes first: if this process dies half-way, the next start finds the run id and reaps it.
        await File.WriteAllTextAsync(OwnerFile(runId), OwnerRecord.Current(subnet).ToString()).ConfigureAwait(false);
        var lab = new NetworkLab(runId, subnet, places);
        try
        {
            await lab.BuildAsync().ConfigureAwait(false);
            return lab;
        }
        catch
        {
            await RemoveRunAsync(runId).ConfigureAwait(false);
            throw;
        }
    }

    private async Task BuildAsync()
    {
        await Ip("link", "add", BridgeName, "type", "bridge").ConfigureAwait(false);
        await Ip("addr", "add", $"{BridgeAddress}/24", "dev", BridgeName).ConfigureAwait(false);
        await Ip("link", "set", BridgeName, "up").ConfigureAwait(false);
        foreach (var m in Members)
        {
            await Ip("netns", "add", m.Namespace).ConfigureAwait(false);
            await Ip("-n", m.Namespace, "link", "set", "lo", "up").ConfigureAwait(false);
            // The peer is created inside the namespace and named eth0 there: the member sees an ordinary NIC.
            await Ip("link", "add", m.HostInterface, "type", "veth", "peer", "name", "eth0", "netns", m.Namespace).ConfigureAwait(false);
            await Ip("-n", m.Namespace, "addr", "add", $"{m.Address}/24", "dev", "eth0").ConfigureAwait(false);
            await Ip("-n", m.Namespace, "link", "set", "eth0", "up").ConfigureAwait(false);
            await Ip("link", "set", m.HostInterface, "master", BridgeName).ConfigureAwait(false);
            await Ip("link", "set", m.HostInterface, "up").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Cuts <paramref name="groupA"/> off from <paramref name="groupB"/> in both directions: in every
    /// member's namespace, an iptables rule DROPs input from each member of the other group. DROP, not
    /// REJECT: nothing answers, connects time out and established connections go silent, as with a
    /// pulled cable. Each group still reaches itself, and the test process reaches everyone.
    /// </summary>
    public async Task PartitionAsync(IEnumerable<MemberName> groupA, IEnumerable<MemberName> groupB)
    {
        var a = groupA.Select(m => this[m]).ToArray();
        var b = groupB.Select(m => this[m]).ToArray();
        if (a.Length == 0 || b.Length == 0)
            throw new ArgumentException("a partition needs a member on each side");
        if (a.Intersect(b).FirstOrDefault() is { } both)
            throw new ArgumentException($"{both.Name} cannot be on both sides of a partition");
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var (inside, from) in a.SelectMany(x => b.Select(y => (x, y))).Concat(b.SelectMany(y => a.Select(x => (y, x)))))
            {
                var rule = new DropRule(inside, from, RunId);
                await HostCommand.RunAsync(Tool("ip"), rule.Arguments("-A")).ConfigureAwait(false);
                lock (_rules)
                    _rules.Add(rule);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Removes exactly the rules <see cref="PartitionAsync"/> added (newest first); any other rule stays.</summary>
    public async Task HealAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await HealCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task HealCoreAsync()
    {
        while (true)
        {
            DropRule rule;
            lock (_rules)
            {
                if (_rules.Count == 0)
                    return;
                rule = _rules[^1];
            }
            await HostCommand.RunAsync(Tool("ip"), rule.Arguments("-D")).ConfigureAwait(false);
            lock (_rules)
                _rules.RemoveAt(_rules.Count - 1);
        }
    }

    /// <summary>The DROP rules (<c>iptables -S</c> lines that drop) in a member's namespace, read from the kernel.</summary>
    public async Task<IReadOnlyList<string>> DropRulesAsync(MemberName member)
    {
        var output = await HostCommand.RunAsync(Tool("ip"), "netns", "exec", this[member].Namespace, Tool("iptables"), "-w", "5", "-S").ConfigureAwait(false);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("-A ", StringComparison.Ordinal) && l.Contains("DROP", StringComparison.Ordinal))
            .ToArray();
    }

    /// <summary>
    /// Removes the lab: its rules, any process still in its namespaces (only members this run started
    /// live there), the veths, the namespaces and the bridge. Runs every step even when one fails, then
    /// throws with what is left, so a failed spec never leaves the machine changed without saying so.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_disposed)
                return;
            _disposed = true;
            string? healError = null;
            try
            {
                await HealCoreAsync().ConfigureAwait(false);
            }
            catch (NetworkLabException e)
            {
                // The rules live in the namespaces, which are deleted next; this only matters if that fails too.
                healError = e.Message;
            }
            await RemoveRunAsync(RunId).ConfigureAwait(false);
            var left = await LeftoversAsync(RunId).ConfigureAwait(false);
            if (left.Count > 0)
                throw new NetworkLabException($"network lab {RunId} not fully removed: {string.Join(", ", left)}{(healError is null ? "" : "; heal: " + healError)}");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Namespaces, links and the owner record of run <paramref name="runId"/> that still exist.</summary>
    public static async Task<IReadOnlyList<string>> LeftoversAsync(string runId)
    {
        var (namespaces, links) = await ListAsync().ConfigureAwait(false);
        var left = namespaces.Where(n => RunIdOf(n) == runId).Select(n => "namespace " + n)
            .Concat(links.Where(l => RunIdOf(l) == runId).Select(l => "link " + l))
            .ToList();
        if (File.Exists(OwnerFile(runId)))
            left.Add("owner record " + OwnerFile(runId));
        return left;
    }

    /// <summary>
    /// Removes every lab whose owner process is gone (a crashed or killed earlier run): found by name
    /// prefix among namespaces and links, and by owner record. Labs of live processes are left alone,
    /// so concurrent runs do not pull each other's cables. Returns the run ids reaped.
    /// </summary>
    public static async Task<IReadOnlyList<string>> ReapAbandonedAsync()
    {
        var (namespaces, links) = await ListAsync().ConfigureAwait(false);
        var runIds = namespaces.Concat(links).Select(RunIdOf)
            .Concat(Directory.Exists(StateDirectory)
                ? Directory.EnumerateFiles(StateDirectory, "*.owner").Select(f => Path.GetFileNameWithoutExtension(f))
                : [])
            .OfType<string>()
            .Distinct()
            .Where(id => !OwnerRecord.Read(OwnerFile(id))?.IsAlive() ?? true)
            .ToArray();
        foreach (var id in runIds)
            await RemoveRunAsync(id).ConfigureAwait(false);
        return runIds;
    }

    private static async Task RemoveRunAsync(string runId)
    {
        var (namespaces, links) = await ListAsync().ConfigureAwait(false);
        var ours = namespaces.Where(n => RunIdOf(n) == runId).ToArray();
        foreach (var ns in ours)
            await KillProcessesInAsync(ns).ConfigureAwait(false);
        // Deleting the host end of a veth deletes the pair at once, even while the namespace still lingers.
        foreach (var link in links.Where(l => RunIdOf(l) == runId && l.StartsWith("vslh", StringComparison.Ordinal)))
            await HostCommand.TryRunAsync(Tool("ip"), "link", "del", link).ConfigureAwait(false);
        foreach (var ns in ours)
            await HostCommand.TryRunAsync(Tool("ip"), "netns", "del", ns).ConfigureAwait(false);
        if (links.Contains(BridgeNameOf(runId)))
            await HostCommand.TryRunAsync(Tool("ip"), "link", "del", BridgeNameOf(runId)).ConfigureAwait(false);
        File.Delete(OwnerFile(runId));
    }

    /// <summary>Kills what still runs in the namespace, so that deleting it really frees it (a namespace lives on while a process is in it).</summary>
    private static async Task KillProcessesInAsync(string ns)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var pids = await HostCommand.TryRunAsync(Tool("ip"), "netns", "pids", ns).ConfigureAwait(false);
            var alive = pids.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                .Where(pid => pid > 0)
                .ToArray();
            if (alive.Length == 0)
                return;
            foreach (var pid in alive)
            {
                try
                {
                    using var process = System.Diagnostics.Process.GetProcessById(pid);
                    process.Kill(entireProcessTree: true);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Already gone between the listing and the kill.
                }
            }
            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    private static async Task<(IReadOnlyList<string> Namespaces, IReadOnlyList<string> Links)> ListAsync()
    {
        var ns = await HostCommand.RunAsync(Tool("ip"), "netns", "list").ConfigureAwait(false);
        var links = await HostCommand.RunAsync(Tool("ip"), "-o", "link", "show").ConfigureAwait(false);
        return (
            ns.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.Split(' ')[0])
                .Where(n => n.StartsWith(NamespacePrefix, StringComparison.Ordinal))
                .ToArray(),
            // "7: vslhab12cdm1@if2: <BROADCAST,..." -> vslhab12cdm1
            links.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split(':', 3))
                .Where(p => p.Length == 3)
                .Select(p => p[1].Trim().Split('@')[0])
                .Where(n => n.StartsWith("vslb", StringComparison.Ordinal) || n.StartsWith("vslh", StringComparison.Ordinal))
                .ToArray());
    }

    /// <summary>The run id in one of the lab's names (<c>vsls-&lt;id&gt;-…</c>, <c>vslb&lt;id&gt;</c>, <c>vslh&lt;id&gt;m…</c>), or null.</summary>
    private static string? RunIdOf(string name)
    {
        var id = name.StartsWith(NamespacePrefix, StringComparison.Ordinal) ? name[NamespacePrefix.Length..]
            : name.StartsWith("vslb", StringComparison.Ordinal) || name.StartsWith("vslh", StringComparison.Ordinal) ? name[4..]
            : null;
        return id is { Length: >= 6 } && id[..6].All(Uri.IsHexDigit) ? id[..6] : null;
    }

    private static string BridgeNameOf(string runId) => $"vslb{runId}";

    private static string OwnerFile(string runId) => Path.Combine(StateDirectory, runId + ".owner");

    /// <summary>The free /24 with the lowest third octet: none of the machine's addresses or routes in it, no live lab on it.</summary>
    private static async Task<int> FreeSubnetAsync()
    {
        var addresses = await HostCommand.RunAsync(Tool("ip"), "-4", "-o", "addr", "show").ConfigureAwait(false);
        var routes = await HostCommand.RunAsync(Tool("ip"), "-4", "route", "show", "table", "all").ConfigureAwait(false);
        var taken = new HashSet<int>(Directory.EnumerateFiles(StateDirectory, "*.owner")
            .Select(OwnerRecord.Read).OfType<OwnerRecord>().Select(o => o.Subnet));
        var text = addresses + "\n" + routes;
        for (var i = text.IndexOf(SubnetPrefix, StringComparison.Ordinal); i >= 0; i = text.IndexOf(SubnetPrefix, i + 1, StringComparison.Ordinal))
        {
            var rest = text[(i + SubnetPrefix.Length)..].TakeWhile(char.IsAsciiDigit).ToArray();
            if (rest.Length > 0)
                taken.Add(int.Parse(rest, CultureInfo.InvariantCulture));
        }
        // A route to 10.231.0.0/16 (or wider) would capture every lab subnet; the check above sees its "10.231.0".
        if (taken.Contains(0))
            throw new NetworkLabException($"the network lab takes its subnets from {SubnetPrefix}0.0/16, and this machine already routes 10.231.0.x: `ip -4 route` shows it");
        for (var n = 1; n < 255; n++)
        {
            if (!taken.Contains(n))
                return n;
        }
        throw new NetworkLabException($"no free /24 left in {SubnetPrefix}0.0/16 for a network lab");
    }

    private static async Task<FileStream> AcquireMachineLockAsync()
    {
        var path = Path.Combine(StateDirectory, ".lock");
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // FileShare.None is an flock on Linux: another lab being built (in any process) holds it.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (attempt < 600)
            {
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// One DROP rule: in <paramref name="Inside"/>'s namespace, input from <paramref name="From"/>. Input only:
    /// a packet still leaves its sender and is lost on the way, as on a cut cable (an OUTPUT drop would
    /// instead fail the sender's own send with EPERM, which no real partition does).
    /// </summary>
    private sealed record DropRule(LabMember Inside, LabMember From, string RunId)
    {
        /// <summary>The <c>ip netns exec … iptables</c> arguments that add (<c>-A</c>) or delete (<c>-D</c>) exactly this rule.</summary>
        public string[] Arguments(string operation) =>
            ["netns", "exec", Inside.Namespace, Tool("iptables"), "-w", "5", operation, .. Spec];

        private string[] Spec => ["INPUT", "-s", $"{From.Address}/32", "-m", "comment", "--comment", $"{RuleComment} {RunId}", "-j", "DROP"];

        public override string ToString() => $"{Inside.Namespace}: -A {string.Join(' ', Spec)}";
    }

    private static Task<string> Ip(params string[] arguments) => HostCommand.RunAsync(Tool("ip"), arguments);

    private static string Tool(string name) => NetworkLabRequirements.ToolPath(name) ?? name;

    /// <summary>Who built a lab: the pid and its kernel start time (so a reused pid does not count as the owner), and the subnet.</summary>
    private sealed record OwnerRecord(int Pid, string StartTime, int Subnet)
    {
        public static OwnerRecord Current(int subnet)
        {
            var pid = Environment.ProcessId;
            return new OwnerRecord(pid, StartTimeOf(pid) ?? "", subnet);
        }

        public static OwnerRecord? Read(string path)
        {
            try
            {
                var parts = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return parts.Length == 3
                       && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                       && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var subnet)
                    ? new OwnerRecord(pid, parts[1], subnet)
                    : null;
            }
            catch (IOException)
            {
                return null;
            }
        }

        public bool IsAlive() => StartTimeOf(Pid) is { } started && started == StartTime;

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Pid} {StartTime} {Subnet}");

        /// <summary>Field 22 of /proc/&lt;pid&gt;/stat (start time in clock ticks since boot), or null when there is no such process.</summary>
        private static string? StartTimeOf(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
                // The command name (field 2) may hold spaces and parentheses; the fields after its last ')' are plain.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return fields.Length > 19 ? fields[19] : null;
            }
            catch (IOException)
            {
                return null;
            }
        }
    }
}
