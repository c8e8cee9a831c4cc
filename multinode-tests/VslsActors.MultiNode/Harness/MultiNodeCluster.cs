using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using VslsActors.Domain;
using VslsActors.MultiNode.Checking;
using VslsActors.MultiNode.Traffic;
using VslsActors.Node;

namespace VslsActors.MultiNode.Harness;

/// <summary>
/// N members as real <c>vsls node</c> processes (docs/multinode.md). <see cref="StartAsync(MultiNodeOptions, CancellationToken)"/> starts them
/// with free ports, one database (a SQLite file in the run folder, or a fresh PostgreSQL schema) and a
/// management API token, waits for the cluster to form and every VS to run where placement says, and
/// starts the checker's sampler. Faults come from outside (<see cref="KillAsync"/>, <see cref="PauseAsync"/>,
/// <see cref="StopGracefullyAsync"/>, ...); a spec tells its story in <see cref="Step"/>s, each logged with
/// the time since the start. <see cref="DisposeAsync"/> kills every process it started, whatever happened;
/// <see cref="OrphanGuard"/> covers a test host that died.
/// </summary>
public sealed class MultiNodeCluster : IAsyncDisposable
{
    private static readonly TimeSpan s_readTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_sampleTimeout = TimeSpan.FromSeconds(1);

    private readonly MultiNodeOptions _options;
    private readonly Dictionary<string, MemberNode> _members;
    private readonly Dictionary<string, MemberApi> _apis;
    private readonly StreamWriter _story;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _samplers = [];
    private readonly List<TrafficDriver> _drivers = [];
    private readonly string _runId;
    private readonly string _secret;
    private readonly string _topologyPath;
    private readonly string? _configPath;
    private readonly string _database;
    private int _step;
    private bool _passed;

    private MultiNodeCluster(MultiNodeOptions options, string runId, string folder, string topologyText)
    {
        _options = options;
        _runId = runId;
        RunFolder = folder;
        Origin = DateTime.UtcNow;
        Topology = VslsActors.Domain.Topology.TopologyLoader.Parse(topologyText, "harness topology");
        _topologyPath = Path.Combine(folder, "topology.conf");
        File.WriteAllText(_topologyPath, topologyText);
        if (options.ExtraHocon is { } hocon)
        {
            _configPath = Path.Combine(folder, "extra.conf");
            File.WriteAllText(_configPath, hocon);
        }
        _secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        _story = new StreamWriter(Path.Combine(folder, "story.log")) { AutoFlush = true };
        History = new History(Path.Combine(folder, "history.jsonl"));
        var ports = LocalPorts.Free(3 * options.Members.Count);
        _members = [];
        _apis = [];
        for (var i = 0; i < options.Members.Count; i++)
        {
            var name = options.Members[i];
            var launch = options.Launch?.Invoke(name) ?? MemberLaunch.Loopback;
            var node = new MemberNode(name, launch, ports[3 * i], ports[3 * i + 1], ports[3 * i + 2], Path.Combine(folder, name.Value + ".log"));
            _members[name.Value] = node;
            _apis[name.Value] = new MemberApi(node.ApiBase, _secret);
        }
        if (options.PostgresConnectionString is { } pg)
        {
            Schema = "mn_" + runId.Replace('-', '_');
            PostgresConnectionString = new NpgsqlConnectionStringBuilder(pg) { SearchPath = Schema }.ConnectionString;
            _database = DatabaseSpec.PostgresPrefix + PostgresConnectionString;
        }
        else
        {
            DatabasePath = Path.Combine(folder, "vsls.db");
            _database = DatabasePath;
        }
    }

    /// <summary>The run's folder: member logs, <c>story.log</c>, <c>history.jsonl</c>, the SQLite file.</summary>
    public string RunFolder { get; }

    /// <summary>When the run started (UTC): time zero of the story.</summary>
    public DateTime Origin { get; }

    /// <summary>The topology every member runs.</summary>
    public VslsActors.Domain.Topology.Topology Topology { get; }

    /// <summary>The SQLite file (null on PostgreSQL).</summary>
    public string? DatabasePath { get; }

    /// <summary>The PostgreSQL connection string with this run's schema as search path (null on SQLite).</summary>
    public string? PostgresConnectionString { get; }

    /// <summary>This run's PostgreSQL schema (null on SQLite).</summary>
    public string? Schema { get; }

    /// <summary>The checker's history (samples and events).</summary>
    public History History { get; }

    /// <summary>Time since the run started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>The members, in configured order.</summary>
    public IReadOnlyList<MemberNode> Members => [.. _members.Values];

    /// <summary>The VS ids of the topology.</summary>
    public IReadOnlyList<int> VirtualSystemIds => Topology.VirtualSystems.Select(v => v.Id.Value).ToArray();

    /// <summary>One member by name.</summary>
    public MemberNode Member(string name) => _members.TryGetValue(name, out var m) ? m : throw new ArgumentException($"no member '{name}' in this run ({string.Join(", ", _members.Keys)})", nameof(name));

    /// <summary>One member's management API.</summary>
    public MemberApi Api(string name) => _apis[Member(name).Name.Value];

    /// <summary>
    /// Starts the members, waits until the cluster has formed with every member Up and every VS runs on
    /// its Active member, and starts sampling. Reaps orphans of dead earlier runs first.
    /// </summary>
    public static async Task<MultiNodeCluster> StartAsync(MultiNodeOptions options, CancellationToken ct = default)
    {
        var reaped = OrphanGuard.ReapOrphans(options.Output);
        var runId = $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(3)).ToLowerInvariant()}";
        var root = options.RunsRoot ?? Path.Combine(Path.GetTempPath(), "vsls-multinode", "runs");
        var folder = Path.Combine(root, $"{Sanitize(options.Name)}-{runId}");
        Directory.CreateDirectory(folder);
        var topology = options.TopologyText ?? HarnessTopology.Text(options.Members);
        var cluster = new MultiNodeCluster(options, runId, folder, topology);
        try
        {
            if (reaped > 0)
                cluster.Log($"reaped {reaped} orphan member process(es) of earlier runs");
            await cluster.Step($"start {options.Members.Count} members ({(cluster.DatabasePath is null ? $"PostgreSQL schema {cluster.Schema}" : "SQLite")}; run folder {folder})", async () =>
            {
                if (cluster.Schema is { } schema)
                    await CreateSchemaAsync(options.PostgresConnectionString!, schema, ct).ConfigureAwait(false);
                foreach (var m in cluster._members.Values)
                    cluster.Launch(m);
                await cluster.WaitForConvergenceAsync(timeout: options.StartTimeout, ct: ct).ConfigureAwait(false);
            }).ConfigureAwait(false);
            foreach (var m in cluster._members.Values)
                cluster._samplers.Add(Task.Run(() => cluster.SampleLoopAsync(m, cluster._stop.Token)));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string Sanitize(string name) => new([.. name.Select(c => char.IsLetterOrDigit(c) || c == '-' ? c : '-').Take(60)]);

    private static async Task CreateSchemaAsync(string connectionString, string schema, CancellationToken ct)
    {
        await using var db = new NpgsqlConnection(connectionString);
        await db.OpenAsync(ct).ConfigureAwait(false);
        await using var cmd = db.CreateCommand();
        cmd.CommandText = $"CREATE SCHEMA \"{schema}\"";
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The command that runs <paramref name="m"/>: its prefix, then <c>dotnet vsls.dll node …</c>.</summary>
    public IReadOnlyList<string> CommandFor(MemberNode m)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "vsls.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(dotnet) || !File.Exists(dotnet))
            dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        // First start: the first two members are the seeds (the first may form the cluster alone). A restart
        // names only the others: a restarted first seed that listed itself first formed a second cluster of
        // its own when the others were slow to answer its join (seen in failover-bench under load).
        // After a full stop (no member runs) a restart is a first start again: someone must form the cluster.
        var seeds = string.Join(',', (m.Starts == 0 || Running.Count == 0 ? _members.Values : _members.Values.Where(o => o != m)).Take(2).Select(s => s.RemotingEndpoint));
        var h = m.Launch.Host;
        var command = new List<string>(m.Launch.CommandPrefix)
        {
            dotnet, dll, "node",
            "--member", m.Name.Value,
            "--host", h,
            "--port", m.RemotingPort.ToString(CultureInfo.InvariantCulture),
            "--seeds", seeds,
            "--db", _database,
            "--topology", _topologyPath,
            "--ingress", m.IngressEndpoint,
            "--api", $"{h}:{m.ApiPort.ToString(CultureInfo.InvariantCulture)}",
            "--api-token", $"{MemberApi.TokenName}:{_secret}",
        };
        if (_configPath is not null)
            command.AddRange(["--config", _configPath]);
        return command;
    }

    private void Launch(MemberNode m)
    {
        m.Start(CommandFor(m), _options.Name);
        OrphanGuard.Register(_runId, m.Pid);
        Event($"{m.Name} started (pid {m.Pid}, remoting {m.RemotingEndpoint}, ingress {m.IngressEndpoint}, api {m.Launch.Host}:{m.ApiPort})");
    }

    // ------------------------------------------------------------------ story

    /// <summary>Writes a line to the story (file and output) with the time since the start.</summary>
    public void Log(string text)
    {
        var line = $"[+{_clock.Elapsed.TotalSeconds,8:0.000}s] {text}";
        lock (_story)
        {
            try
            {
                _story.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
        try
        {
            _options.Output?.Invoke(line);
        }
        catch (InvalidOperationException)
        {
            // xUnit's output helper refuses lines after its test ended (a late driver line): the story file has it.
        }
    }

    /// <summary>Logs and records in the history (the checker's excerpts show events).</summary>
    public void Event(string text)
    {
        History.Add(new HistoryEvent(DateTime.UtcNow, text));
        Log(text);
    }

    /// <summary>One named step of the story: logged when it starts and ends; a failure carries the member logs' tails.</summary>
    public async Task Step(string title, Func<Task> action)
    {
        var n = Interlocked.Increment(ref _step);
        var started = _clock.Elapsed;
        Event($"step {n}: {title}");
        try
        {
            await action().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not MultiNodeException)
        {
            Log($"step {n} FAILED: {e.Message}");
            throw new MultiNodeException($"step {n} '{title}' failed at +{_clock.Elapsed.TotalSeconds:0.0}s: {e.Message}\n{Tails()}", e);
        }
        Log($"step {n} done in {(_clock.Elapsed - started).TotalMilliseconds:0} ms");
    }

    /// <summary><see cref="Step(string, Func{Task})"/> with a result.</summary>
    public async Task<T> Step<T>(string title, Func<Task<T>> action)
    {
        T result = default!;
        // A block body: an expression lambda would bind to this very overload (Func<Task<T>>) and recurse.
        await Step(title, async () => { result = await action().ConfigureAwait(false); }).ConfigureAwait(false);
        return result;
    }

    /// <summary>The last lines of every member's log and where the run folder is (for failure messages).</summary>
    public string Tails(int lines = 25)
    {
        var b = new StringBuilder();
        foreach (var m in _members.Values)
        {
            b.Append(CultureInfo.InvariantCulture, $"--- {m.Name} ({m.State.ToString().ToLowerInvariant()}, pid {m.Pid}, exit {m.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-"}): last {lines} lines of {m.LogPath}\n");
            b.Append(m.Tail(lines)).Append('\n');
        }
        b.Append("--- run folder (logs, story.log, history.jsonl): ").Append(RunFolder);
        return b.ToString();
    }

    // ------------------------------------------------------------------ faults

    /// <summary>
    /// When the last fault's signal was sent (UTC): failover gaps are measured across it, and connections
    /// synced before it must survive.
    /// </summary>
    public DateTime LastFaultAt { get; private set; }

    /// <summary>kill -9: the member crashes (no leave, no hand-off).</summary>
    public async Task KillAsync(string member)
    {
        var m = Member(member);
        SetTrafficAvailable(member, false);
        var pid = m.Pid;
        m.Note("kill -9");
        LastFaultAt = m.Kill();
        await m.WaitForExitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        OrphanGuard.Forget(pid);
        Event($"{member} killed (SIGKILL, pid {pid})");
    }

    /// <summary>SIGSTOP: the member hangs (its sockets stay open, nothing answers).</summary>
    public Task PauseAsync(string member)
    {
        var m = Member(member);
        SetTrafficAvailable(member, false);
        m.Note("SIGSTOP");
        LastFaultAt = DateTime.UtcNow;
        m.Pause();
        Event($"{member} paused (SIGSTOP, pid {m.Pid})");
        return Task.CompletedTask;
    }

    /// <summary>SIGCONT after <see cref="PauseAsync"/>. Traffic is not sent to it again until <see cref="SetTrafficAvailable"/>.</summary>
    public Task ResumeAsync(string member)
    {
        var m = Member(member);
        m.Resume();
        m.Note("SIGCONT");
        Event($"{member} resumed (SIGCONT, pid {m.Pid})");
        return Task.CompletedTask;
    }

    /// <summary>SIGTERM: the member leaves gracefully; returns its exit code (null if it had not ended within <paramref name="timeout"/>).</summary>
    public async Task<int?> StopGracefullyAsync(string member, TimeSpan? timeout = null)
    {
        var m = Member(member);
        SetTrafficAvailable(member, false);
        m.Note("SIGTERM");
        LastFaultAt = DateTime.UtcNow;
        m.Terminate();
        Event($"{member} sent SIGTERM (graceful leave, pid {m.Pid})");
        var code = await m.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        if (code is not null)
        {
            OrphanGuard.Forget(m.Pid);
            Event($"{member} exited with {code}");
        }
        return code;
    }

    /// <summary>Waits for a member's process to end by itself; its exit code or null after <paramref name="timeout"/>.</summary>
    public async Task<int?> WaitForExitAsync(string member, TimeSpan timeout)
    {
        var m = Member(member);
        var code = await m.WaitForExitAsync(timeout).ConfigureAwait(false);
        if (code is not null)
        {
            OrphanGuard.Forget(m.Pid);
            Event($"{member} exited by itself with {code}");
        }
        return code;
    }

    /// <summary>Starts a new process for a member whose process ended (same name, address and ports).</summary>
    public Task StartAsync(string member)
    {
        var m = Member(member);
        if (m.State != MemberRunState.NotRunning)
            throw new InvalidOperationException($"{member} is {m.State.ToString().ToLowerInvariant()}: stop it first");
        Launch(m);
        SetTrafficAvailable(member, true);
        return Task.CompletedTask;
    }

    /// <summary>kill -9 when it runs (or is paused), then a new process.</summary>
    public async Task RestartAsync(string member)
    {
        if (Member(member).State != MemberRunState.NotRunning)
            await KillAsync(member).ConfigureAwait(false);
        await StartAsync(member).ConfigureAwait(false);
    }

    /// <summary>Tells every traffic driver of this run whether <paramref name="member"/>'s ingress takes traffic.</summary>
    public void SetTrafficAvailable(string member, bool available)
    {
        lock (_drivers)
        {
            foreach (var d in _drivers)
                d.SetAvailable(member, available);
        }
    }

    // ------------------------------------------------------------------ reads

    /// <summary>Members whose process runs (not paused, not ended).</summary>
    public IReadOnlyList<MemberNode> Running => _members.Values.Where(m => m.State == MemberRunState.Running).ToArray();

    /// <summary>Asks running members in turn until one answers.</summary>
    public async Task<T> ReadAsync<T>(Func<MemberApi, Task<T>> read, string? from = null)
    {
        Exception? last = null;
        foreach (var m in from is null ? Running : [Member(from)])
        {
            try
            {
                return await read(_apis[m.Name.Value]).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException or KeyNotFoundException)
            {
                last = e;
            }
        }
        throw new MultiNodeException($"no running member answered ({last?.Message ?? "none runs"})", last);
    }

    /// <summary>The cluster as a running member sees it.</summary>
    public Task<ClusterView> ClusterViewAsync(string? from = null) => ReadAsync(a => a.ClusterAsync(s_readTimeout), from);

    /// <summary>The shard coordinator (the oldest Up member), as a running member sees it.</summary>
    public async Task<string> CoordinatorAsync() =>
        (await ClusterViewAsync().ConfigureAwait(false)).Coordinator ?? throw new MultiNodeException("no coordinator in the cluster view");

    /// <summary><c>GET /vs</c> from a running member.</summary>
    public Task<IReadOnlyList<VsView>> VirtualSystemsAsync() => ReadAsync(a => a.VirtualSystemsAsync(TimeSpan.FromSeconds(5)));

    /// <summary>The VSs that run on <paramref name="member"/> now (by <c>GET /vs</c>).</summary>
    public async Task<IReadOnlyList<int>> RunningOnAsync(string member) =>
        (await VirtualSystemsAsync().ConfigureAwait(false)).Where(v => v.RunningOn == member).Select(v => v.Vs).ToArray();

    /// <summary>
    /// The youngest member that is not the shard coordinator (the usual victim of a fault that should not
    /// also move the coordinator) and the VSs it runs, which must be some.
    /// </summary>
    /// <exception cref="MultiNodeException">It runs no VS.</exception>
    public async Task<(string Member, IReadOnlyList<int> Vss)> NonCoordinatorVictimAsync()
    {
        var coordinator = await CoordinatorAsync().ConfigureAwait(false);
        var victim = Members.Select(m => m.Name.Value).Last(m => m != coordinator);
        var vss = await RunningOnAsync(victim).ConfigureAwait(false);
        return vss.Count > 0 ? (victim, vss) : throw new MultiNodeException($"{victim} runs no VS: nothing to fail over");
    }

    /// <summary>
    /// Waits until the running members (or <paramref name="members"/>) are all Up and reachable and
    /// nothing else is in the view, and every VS runs on its Active member, twice in a row a second
    /// apart. Returns when that first held (the checker's convergence time).
    /// </summary>
    public async Task<DateTime> WaitForConvergenceAsync(IReadOnlyCollection<string>? members = null, TimeSpan? timeout = null, CancellationToken ct = default)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        DateTime? since = null;
        var why = "not asked yet";
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            foreach (var m in _members.Values.Where(m => m.State == MemberRunState.NotRunning && m.Starts > 0 && m.ExitCode is { } code && (members?.Contains(m.Name.Value) ?? false)))
                throw new MultiNodeException($"{m.Name} exited with {m.ExitCode} while the cluster was to converge with it\n{Tails()}");
            var expected = members ?? Running.Select(m => m.Name.Value).ToArray();
            var at = DateTime.UtcNow;
            why = await ConvergedAsync(expected).ConfigureAwait(false) ?? "";
            if (why.Length == 0)
            {
                since ??= at;
                if (at - since.Value >= TimeSpan.FromSeconds(1))
                {
                    Event($"converged: {string.Join(", ", expected.Order())} Up, every VS on its Active member");
                    return since.Value;
                }
            }
            else
            {
                since = null;
            }
            if (DateTime.UtcNow > deadline)
                throw new MultiNodeException($"the cluster did not converge within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds:0} s: {why}\n{Tails()}");
            await Task.Delay(250, ct).ConfigureAwait(false);
        }
    }

    private async Task<string?> ConvergedAsync(IReadOnlyCollection<string> expected)
    {
        try
        {
            foreach (var name in expected)
            {
                var view = await _apis[name].ClusterAsync(s_readTimeout).ConfigureAwait(false);
                var up = view.Members.Where(v => v.Status == "Up" && v.Reachable).Select(v => v.Member).ToHashSet();
                var missing = expected.Where(e => !up.Contains(e)).ToArray();
                if (missing.Length > 0)
                    return $"{name} does not see {string.Join(", ", missing)} Up and reachable";
                var extra = view.Members.Where(v => v.Member is null || !expected.Contains(v.Member)).ToArray();
                if (extra.Length > 0)
                    return $"{name} still sees {string.Join(", ", extra.Select(e => $"{e.Member ?? e.Address}={e.Status}"))}";
            }
            var vss = await _apis[expected.First()].VirtualSystemsAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            var off = vss.Where(v => v.Active is null || v.RunningOn != v.Active || v.Connections is null).ToArray();
            if (off.Length > 0)
                return "VSs not on their Active member: " + string.Join(", ", off.Select(v => $"{v.Vs} on {v.RunningOn ?? "-"} (Active {v.Active ?? "-"})"));
            // /vs's runningOn is one region's claim; while a shard hands back, the old region still runs the
            // entity for a moment (both list the shard). Each member's own region must agree, as the checker's
            // placement rule sees it through the same region-stats.
            foreach (var name in expected)
            {
                var local = await _apis[name].LocalVirtualSystemsAsync(s_readTimeout).ConfigureAwait(false);
                var stray = local.Where(vs => vss.FirstOrDefault(v => v.Vs == vs)?.Active != name).ToArray();
                if (stray.Length > 0)
                    return $"{name} still runs VSs {string.Join(",", stray)} that are Active elsewhere";
            }
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException or KeyNotFoundException)
        {
            return $"a member did not answer: {e.Message}";
        }
    }

    /// <summary>
    /// Runs <c>vsls ctl -e &lt;member's API&gt; --token … &lt;args&gt;</c> as a real process, the way an
    /// operator would; its exit code and output (stdout and stderr together). Logged as an event.
    /// </summary>
    public async Task<(int ExitCode, string Output)> CtlAsync(string via, params string[] args)
    {
        var m = Member(via);
        var dll = Path.Combine(AppContext.BaseDirectory, "vsls.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(dotnet) || !File.Exists(dotnet))
            dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var info = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[dll, "ctl", "-e", $"{m.Launch.Host}:{m.ApiPort.ToString(CultureInfo.InvariantCulture)}", "--token", _secret, .. args])
            info.ArgumentList.Add(a);
        foreach (var v in Node.VslsNodeOptions.EnvironmentVariables)
            info.Environment.Remove(v);
        info.Environment.Remove("VSLS_CTL_ENDPOINT");
        info.Environment.Remove("VSLS_CTL_TOKEN");
        using var process = Process.Start(info) ?? throw new MultiNodeException("cannot start vsls ctl");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new MultiNodeException($"vsls ctl {string.Join(' ', args)} did not end within 60 s");
        }
        var output = ((await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false))).Trim();
        Event($"vsls ctl -e {via} {string.Join(' ', args)} -> exit {process.ExitCode}: {output.Split('\n')[0]}");
        return (process.ExitCode, output);
    }

    /// <summary>
    /// Every VS's whole connection table as read through a running member, each row as
    /// "<see cref="ConnectionView.Key"/> state"; a VS whose table cannot be read is missing from the result.
    /// </summary>
    public async Task<IReadOnlyDictionary<int, IReadOnlySet<string>>> ConnectionTablesAsync()
    {
        var tables = new Dictionary<int, IReadOnlySet<string>>();
        foreach (var vs in VirtualSystemIds)
        {
            var rows = await ReadAsync(a => a.ConnectionsAsync(vs, TimeSpan.FromSeconds(10))).ConfigureAwait(false);
            tables[vs] = rows.Select(r => $"{r.Key} {r.State}").ToHashSet();
        }
        return tables;
    }

    // ------------------------------------------------------------------ traffic

    /// <summary>Starts a traffic driver on every VS through the members' ingress (stopped at dispose).</summary>
    public TrafficDriver StartTraffic(TrafficOptions? options = null)
    {
        var driver = new TrafficDriver(VirtualSystemIds, _members.Values.Select(m => (m.Name.Value, m.IngressEndpoint)).ToArray(), HarnessTopology.SyncDelay, options, Log);
        lock (_drivers)
            _drivers.Add(driver);
        foreach (var m in _members.Values.Where(m => m.State != MemberRunState.Running))
            driver.SetAvailable(m.Name.Value, false);
        driver.Start();
        Event($"traffic started: {(options ?? new TrafficOptions()).ConnectionsPerVs} TCP connections per VS on {VirtualSystemIds.Count} VSs");
        return driver;
    }

    // ------------------------------------------------------------------ checker

    private async Task SampleLoopAsync(MemberNode m, CancellationToken ct)
    {
        var api = _apis[m.Name.Value];
        while (!ct.IsCancellationRequested)
        {
            if (m.State == MemberRunState.Running)
            {
                var pid = m.Pid;
                var start = DateTime.UtcNow;
                try
                {
                    var view = api.ClusterAsync(s_sampleTimeout, ct);
                    var running = api.LocalVirtualSystemsAsync(s_sampleTimeout, ct);
                    var v = await view.ConfigureAwait(false);
                    var r = await running.ConfigureAwait(false);
                    History.Add(new Sample(m.Name.Value, pid, start, DateTime.UtcNow, v.SelfStatus,
                        v.Members.Where(x => x.Member is not null).Select(x => new SampledMember(x.Member!, x.Status, x.Reachable)).ToArray(), r));
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException or KeyNotFoundException)
                {
                    // No answer: no sample (a member starting, stopping or hung says nothing about what it runs).
                }
            }
            try
            {
                await Task.Delay(_options.SampleInterval, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The journal's rows, read straight from the database.</summary>
    public Task<IReadOnlyList<JournalRow>> ReadJournalAsync(CancellationToken ct = default) =>
        DatabasePath is { } path ? JournalReader.ReadSqliteAsync(path, ct) : JournalReader.ReadPostgresAsync(PostgresConnectionString!, ct);

    /// <summary>
    /// Runs the checker over this run: the history so far, the journal, the final placement and, when
    /// given, the connections synced before the fault against the tables now, and the failover gaps.
    /// Call after <see cref="WaitForConvergenceAsync"/> (pass its result as <paramref name="convergedAt"/>).
    /// </summary>
    public async Task<CheckReport> CheckAsync(DateTime convergedAt, IReadOnlyDictionary<int, IReadOnlyCollection<string>>? syncedBeforeFault = null,
        IReadOnlyDictionary<int, TimeSpan?>? gaps = null)
    {
        // A few more samples after convergence, so that rule (b) sees the settled state from every member.
        await Task.Delay(_options.SampleInterval * 3).ConfigureAwait(false);
        var vss = await VirtualSystemsAsync().ConfigureAwait(false);
        var tables = new Dictionary<int, IReadOnlySet<string>>();
        foreach (var vs in (syncedBeforeFault ?? new Dictionary<int, IReadOnlyCollection<string>>()).Keys)
        {
            try
            {
                var rows = await ReadAsync(a => a.ConnectionsAsync(vs, TimeSpan.FromSeconds(10))).ConfigureAwait(false);
                tables[vs] = rows.Select(r => r.Key).ToHashSet();
            }
            catch (MultiNodeException e)
            {
                Log($"checker: VS {vs}'s table could not be read: {e.Message}");
            }
        }
        var journal = await ReadJournalAsync().ConfigureAwait(false);
        var report = Checker.Check(new CheckInput
        {
            History = History,
            Origin = Origin,
            ConvergedAt = convergedAt,
            FinalVirtualSystems = vss.Select(v => new FinalVs(v.Vs, v.Active, v.RunningOn)).ToArray(),
            SyncedBeforeFault = syncedBeforeFault ?? new Dictionary<int, IReadOnlyCollection<string>>(),
            TablesAfter = tables,
            Journal = journal,
            Gaps = gaps ?? new Dictionary<int, TimeSpan?>(),
        });
        Log(report.Clean ? $"checker: clean ({report.Samples} samples, {journal.Count} journal rows, {syncedBeforeFault?.Values.Sum(s => s.Count) ?? 0} synced connections checked)" : report.Describe());
        if (report.Gaps.Count > 0 && report.Clean)
            Log(report.Describe());
        return report;
    }

    /// <summary>Throws with every finding (and the member logs' tails) unless the report is clean; a clean run's folder is deleted at dispose.</summary>
    public void AssertClean(CheckReport report)
    {
        if (!report.Clean)
            throw new MultiNodeException($"{_options.Name}: {report.Describe()}\n{Tails()}");
        _passed = true;
    }

    /// <summary>Stops the sampler and the drivers, kills every member process still there, and cleans up a passed run.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_samplers).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        TrafficDriver[] drivers;
        lock (_drivers)
            drivers = [.. _drivers];
        foreach (var d in drivers)
            await d.DisposeAsync().ConfigureAwait(false);
        foreach (var m in _members.Values)
        {
            var pid = m.Pid;
            m.Dispose();
            OrphanGuard.Forget(pid);
        }
        foreach (var a in _apis.Values)
            a.Dispose();
        OrphanGuard.Finish(_runId);
        Log(_passed ? "run passed; members stopped" : $"members stopped; logs kept in {RunFolder}");
        History.Dispose();
        lock (_story)
            _story.Dispose();
        if (_passed && Environment.GetEnvironmentVariable("VSLS_MULTINODE_KEEP") != "1")
        {
            if (Schema is not null)
                await DropSchemaAsync().ConfigureAwait(false);
            try
            {
                Directory.Delete(RunFolder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        _stop.Dispose();
    }

    private async Task DropSchemaAsync()
    {
        try
        {
            await using var db = new NpgsqlConnection(_options.PostgresConnectionString);
            await db.OpenAsync().ConfigureAwait(false);
            await using var cmd = db.CreateCommand();
            cmd.CommandText = $"DROP SCHEMA \"{Schema}\" CASCADE";
            await cmd.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (NpgsqlException)
        {
            // A schema left behind costs nothing but space; the run itself passed.
        }
    }
}
