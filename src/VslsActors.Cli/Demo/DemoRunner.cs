using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using VslsActors.Cluster.Hosting;
using VslsActors.Cluster.Protocol;
using VslsActors.Domain;
using VslsActors.Domain.Flows;
using VslsActors.Domain.Policy;
using VslsActors.Domain.Topology;
using VslsActors.Node;
using VslsActors.Traffic;

namespace VslsActors.Cli.Demo;

/// <summary>
/// <c>vsls demo</c>, step by step:
/// <list type="number">
/// <item>Starts <see cref="DemoOptions.Members"/> members as child processes of this same program
/// (<c>vsls node</c>) on loopback, on free ports, sharing one SQLite file in a temporary directory;
/// the first two are the seeds.</item>
/// <item>Joins the cluster itself as the traffic driver (<c>demo-driver</c>, hosting no VS) through
/// <see cref="VslsHosting.AddVsls"/> and waits until every VS answers <c>EnsureStarted</c>.</item>
/// <item>Drives <see cref="TrafficGenerator"/> traffic at <see cref="DemoOptions.Rate"/> as
/// <c>ProcessPackets</c> asks through the shard region proxy: per VS at most
/// <see cref="MaxInFlightPerVs"/> batches in flight; a VS that falls behind is paused in the
/// generator (its flows wait) rather than its packets dropped or reordered.</item>
/// <item>Shows progress every second (GetStatus per VS: where it is Active, its connections;
/// packets/s per member from the verdict replies).</item>
/// <item>At <see cref="DemoOptions.FailoverAt"/> kills (SIGKILL) one member: the last one in member
/// order that is Active for some VS — not the first member, where the shard coordinator and the
/// registry singleton live, so that the demo measures a VS failover and not a coordinator move as
/// well (the multinode tests cover that). Just before the kill it notes the synced connections of
/// the victim's VSs (<see cref="TrafficGenerator.SyncedProbes"/>).</item>
/// <item>When every failed-over VS accepts packets on its new member (or 30 s after the kill), sends
/// one probe packet per noted connection, each in its own batch so that its verdict is its own: an
/// out-of-state answer = a connection lost on failover.</item>
/// <item>Reports (<see cref="DemoReport"/>), leaves the cluster, stops the remaining members with
/// SIGTERM (graceful leave) and deletes the temporary directory — kept, with the logs, on failure.</item>
/// </list>
/// </summary>
internal sealed class DemoRunner(DemoOptions options, TextWriter output, TextWriter error)
{
    /// <summary>Batches in flight per VS: enough to hide a round trip, few enough that a failover strands little.</summary>
    internal const int MaxInFlightPerVs = 4;

    /// <summary>Asks per VS not yet answered (young or stale, see <see cref="Lane.Outstanding"/>).</summary>
    internal const int MaxOutstandingPerVs = 2 * MaxInFlightPerVs;

    /// <summary>Largest batch per ask (the VS runtime batches internally too).</summary>
    internal const int MaxPacketsPerAsk = 1024;

    /// <summary>Pending packets per VS above which its flows are paused in the generator.</summary>
    internal const int PendingCapPerVs = 16_384;

    /// <summary>
    /// Margin before a connection counts as synced, on top of its VS's watermark (everything generated
    /// before it has been answered, i.e. journaled): covers the VS's delayed-sync check running on a timer.
    /// </summary>
    internal static readonly TimeSpan SyncMargin = TimeSpan.FromSeconds(1);

    /// <summary>The members' VS sweep interval (hocon/vsls.conf), which journals delayed-sync connections.</summary>
    private static readonly TimeSpan SweepInterval = VslsActors.Cluster.VirtualSystems.VirtualSystemSettings.Default.SweepInterval;

    /// <summary>Late firing of a sweep timer on a busy member, on top of <see cref="SweepInterval"/>.</summary>
    private static readonly TimeSpan SweepSlack = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long the driver waits for a batch's verdicts before it counts the batch unanswered. Not on
    /// the failover's critical path (stranded asks stop counting against a VS's cap after
    /// <see cref="StaleAsk"/> and at the kill), so it can be generous: at 3 s, a member starved of CPU
    /// (the test suite running beside the demo on two cores) sometimes answered later than that, and
    /// a late answer is still an answer.
    /// </summary>
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PlacementTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PlacementStableFor = TimeSpan.FromSeconds(3);

    private readonly DemoTally _tally = new();
    private readonly object _laneGate = new();
    private readonly Stopwatch _clock = new();
    private readonly List<MemberProcess> _members = [];
    private IDemoView _view = new PlainDemoView(error);

    /// <summary>Where each lost probe is described (temp dir, kept with VSLS_DEMO_KEEP=1); null = nowhere.</summary>
    private string? _lostProbesPath;
    private long _killedAtUtc;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });

        var interactive = !options.Json && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(options.Json ? error : output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        _view = interactive ? new LiveDemoView(console) : new PlainDemoView(options.Json ? error : output);

        // Bad input is refused before anything is started or written.
        var topology = options.Topology is { } given
            ? NodePreflight.LoadTopology(given)
            : TopologyLoader.Parse(SampleTopology.Text(), "sample topology");
        if (options.Members > topology.Members.Length)
            throw new DemoException($"--members {options.Members}: the topology {options.Topology ?? "sample"} names only {topology.Members.Length} members ({string.Join(", ", topology.Members)})");

        var temp = Directory.CreateTempSubdirectory("vsls-demo-").FullName;
        var succeeded = false;
        IHost? driver = null;
        try
        {
            var topologyPath = options.Topology is { } t ? Path.GetFullPath(t) : SampleTopology.WriteTo(temp);
            var dbPath = Path.GetFullPath(options.Db ?? Path.Combine(temp, "vsls.db"));
            _lostProbesPath = Path.Combine(temp, "lost-probes.txt");
            // Akka.Remote ports for the members and the driver, then one gRPC ingress port per member.
            var ports = LocalPorts.Free(2 * options.Members + 1);
            var names = topology.Members.Take(options.Members).Select(m => m.Value).ToArray();
            var seeds = string.Join(',', ports.Take(Math.Min(2, options.Members)).Select(p => $"127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}"));

            DemoReport? report = null;
            await _view.RunAsync(async () =>
            {
                _clock.Start();
                var self = SelfCommand.Resolve();
                for (var i = 0; i < names.Length; i++)
                {
                    _members.Add(MemberProcess.Start(self, names[i], ports[i],
                        ["--member", names[i], "--host", "127.0.0.1", "--port", ports[i].ToString(CultureInfo.InvariantCulture),
                         "--seeds", seeds, "--db", dbPath, "--topology", topologyPath,
                         "--ingress", $"127.0.0.1:{ports[options.Members + 1 + i].ToString(CultureInfo.InvariantCulture)}"],
                        Path.Combine(temp, names[i] + ".log")));
                    _view.Event(_clock.Elapsed, $"started {names[i]} (pid {_members[^1].Pid}, port {ports[i]}, ingress 127.0.0.1:{ports[options.Members + 1 + i]})");
                }

                var loggerProvider = new FileLoggerProvider(Path.Combine(temp, "demo-driver.log"));
                var joined = false;
                driver = VslsHostFactory.Build(
                    new VslsClusterOptions
                    {
                        Member = new MemberName("demo-driver"),
                        Host = "127.0.0.1",
                        Port = ports[options.Members],
                        SeedNodes = seeds.Split(',').Select(s => $"akka.tcp://{VslsClusterOptions.SystemName}@{s}").ToArray(),
                        Topology = topology,
                        Database = DatabaseSpec.Parse(dbPath, "demo"),
                        HostsVirtualSystems = false,
                        // The driver's log goes to its file; Akka's own stdout logger (used before
                        // the loggers start and after they stop) would otherwise mix into --json output.
                        ExtraHocon = "akka.stdout-loglevel = OFF",
                    },
                    logging => logging.AddProvider(loggerProvider),
                    akka => akka.AddStartup((_, _) => joined = true));
                string? driverProblem = null;
                try
                {
                    await driver.StartAsync(stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    driverProblem = NodePreflight.OneLine(e);
                }
                if (!joined)
                {
                    // A member that failed says why more precisely than the driver does: give it a moment.
                    await Task.Delay(TimeSpan.FromSeconds(2), stop.Token).ConfigureAwait(false);
                    ThrowIfAMemberExited("start-up");
                    throw new DemoException($"the demo driver could not start its cluster node: {driverProblem ?? "see its log"} (log: {Path.Combine(temp, "demo-driver.log")})");
                }
                var region = await driver.Services.GetRequiredService<ActorRegistry>().GetAsync<VirtualSystemRegion>(stop.Token).ConfigureAwait(false);

                await WaitForMembersUpAsync(driver.Services.GetRequiredService<ActorSystem>(), temp, stop.Token).ConfigureAwait(false);
                await WaitForVirtualSystemsAsync(region, topology, temp, stop.Token).ConfigureAwait(false);
                await WaitForPlacementAsync(region, topology, names, stop.Token).ConfigureAwait(false);
                report = await DriveAsync(region, topology, names, ports, stop.Token).ConfigureAwait(false);

                // Stop everything before reporting, so the report can say whether every member left gracefully.
                _view.Event(_clock.Elapsed, "stopping: the driver leaves, the members get SIGTERM");
                await ShutdownAsync(driver).ConfigureAwait(false);
                driver = null;
                report = report with
                {
                    Members = report.Members.Select(m =>
                    {
                        var process = _members.First(p => p.Name == m.Name);
                        return m with { ExitCode = process.Killed || !process.HasExited ? null : process.ExitCode };
                    }).ToList(),
                };
            }).ConfigureAwait(false);

            if (report is null)
                throw new DemoException("the demo ended without a report");
            if (options.Json)
                await output.WriteLineAsync(report.ToJson()).ConfigureAwait(false);
            else
                WriteHumanReport(console, report);
            succeeded = true;
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await error.WriteLineAsync("vsls: demo interrupted; stopping the members").ConfigureAwait(false);
            return 130;
        }
        catch (DemoException e)
        {
            // The demo could not run (a member did not start, the cluster did not form): one line, then where the logs are.
            await error.WriteLineAsync($"vsls: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        finally
        {
            await ShutdownAsync(driver).ConfigureAwait(false);
            foreach (var m in _members)
                m.Dispose();
            // VSLS_DEMO_KEEP=1 keeps the members' logs and the database of a successful run too.
            if (succeeded && Environment.GetEnvironmentVariable("VSLS_DEMO_KEEP") != "1")
            {
                TryDelete(temp);
            }
            else
            {
                await error.WriteLineAsync($"vsls: demo logs and database kept in {temp}").ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Waits until every member is Up before the first VS is started. A VS is placed when its first
    /// message arrives: with a member still joining, all VSs landed on the members already up and were
    /// rebalanced onto the late one during the traffic, where a measured failover then overlapped the
    /// hand-overs (runs with every VS on member-1 at start measured gaps of 5–8 s).
    /// </summary>
    private async Task WaitForMembersUpAsync(ActorSystem system, string temp, CancellationToken ct)
    {
        var cluster = Akka.Cluster.Cluster.Get(system);
        var deadline = _clock.Elapsed + StartupTimeout;
        while (cluster.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(VslsClusterOptions.MemberRole)) < options.Members)
        {
            ct.ThrowIfCancellationRequested();
            ThrowIfAMemberExited("start-up");
            if (_clock.Elapsed > deadline)
                throw new DemoException($"the {options.Members} members did not all join within {StartupTimeout.TotalSeconds:0} s (logs in {temp})");
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
        _view.Event(_clock.Elapsed, $"all {options.Members} members are Up");
    }

    /// <summary>
    /// Waits (at most <see cref="PlacementTimeout"/>) until every member is Active for some VS. Even with
    /// every member Up, the coordinator sometimes placed all VSs on member-1 and rebalanced them during
    /// the traffic: hand-overs stop a VS with batches unanswered and delayed-sync connections unsynced,
    /// and a kill right after measured a failover on top of a rebalance.
    /// </summary>
    private async Task WaitForPlacementAsync(IActorRef region, Topology topology, string[] names, CancellationToken ct)
    {
        var deadline = _clock.Elapsed + PlacementTimeout;
        string Placement() => string.Join(",", topology.VirtualSystems.Select(v => _tally.MemberOf(v.Id)));
        var last = Placement();
        var stableSince = _clock.Elapsed;
        while (true)
        {
            var counts = _tally.ActiveCounts();
            // Every member hosts a VS and nothing moved for a few rebalance rounds (rebalance-interval
            // = 1 s): with only the first condition, the coordinator went on moving VSs into the traffic.
            if (names.All(n => counts.GetValueOrDefault(n) > 0) && _clock.Elapsed - stableSince >= PlacementStableFor)
            {
                _view.Event(_clock.Elapsed, "VSs placed: " + string.Join(", ", counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}")));
                return;
            }
            if (_clock.Elapsed > deadline)
            {
                _view.Event(_clock.Elapsed, $"placement still uneven after {PlacementTimeout.TotalSeconds:0} s; starting traffic anyway");
                return;
            }
            await Task.Delay(500, ct).ConfigureAwait(false);
            foreach (var st in await PollStatusAsync(region, topology).ConfigureAwait(false))
            {
                if (st is not null)
                    _tally.SetMember(st.VsId, st.Member);
            }
            var now = Placement();
            if (now != last)
            {
                last = now;
                stableSince = _clock.Elapsed;
            }
        }
    }

    private async Task WaitForVirtualSystemsAsync(IActorRef region, Topology topology, string temp, CancellationToken ct)
    {
        var waiting = topology.VirtualSystems.Select(v => v.Id).ToHashSet();
        var deadline = _clock.Elapsed + StartupTimeout;
        while (waiting.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            ThrowIfAMemberExited("start-up");
            if (_clock.Elapsed > deadline)
                throw new DemoException($"virtual systems {string.Join(", ", waiting.Order())} did not start within {StartupTimeout.TotalSeconds:0} s (logs in {temp})");
            var asks = waiting.Select(async vs =>
            {
                try
                {
                    var started = await region.Ask<VirtualSystemReplies.Started>(new VirtualSystemCommands.EnsureStarted(vs), TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
                    return (vs, started.Member);
                }
                catch (Exception) when (!ct.IsCancellationRequested) // timeout, or a VS failing during a failover: try again / count it
                {
                    return (vs, (string?)null);
                }
            }).ToArray();
            foreach (var (vs, member) in await Task.WhenAll(asks).ConfigureAwait(false))
            {
                if (member is null)
                    continue;
                waiting.Remove(vs);
                _tally.SetMember(vs, member);
            }
            if (waiting.Count > 0)
                await Task.Delay(250, ct).ConfigureAwait(false);
        }
        _view.Event(_clock.Elapsed, $"all {topology.VirtualSystems.Length} virtual systems are Active: " +
            string.Join(", ", _tally.ActiveCounts().OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}")));
    }

    private void ThrowIfAMemberExited(string phase)
    {
        foreach (var m in _members)
        {
            if (m.HasExited && !m.Killed)
                throw new DemoException($"member {m.Name} exited with code {m.ExitCode} during {phase}: {m.FirstError ?? "no error output"} (log: {m.LogPath})");
        }
    }

    /// <summary>
    /// One VS's send queue. An ask counts against <see cref="MaxInFlightPerVs"/> only while it is
    /// younger than <see cref="StaleAsk"/>: asks stranded on a killed member must not hold the VS's
    /// traffic back until they time out, or the measured failover gap would be the ask timeout.
    /// </summary>
    internal sealed class Lane
    {
        public readonly List<TimedPacket> Pending = [];
        public readonly List<(TimeSpan SentAt, long FirstTimestamp)> InFlight = [];

        /// <summary>Asks sent before this went to a member the demo killed: they count against no cap.</summary>
        public TimeSpan AbandonedBefore = TimeSpan.MinValue;

        public int Active(TimeSpan now) => InFlight.Count(f => now - f.SentAt < StaleAsk && f.SentAt >= AbandonedBefore);

        /// <summary>
        /// Every ask not abandoned, young or stale. Capped too: with only young asks capped, a VS whose
        /// replies take longer than <see cref="StaleAsk"/> (a busy member) was sent 4 more asks every
        /// 500 ms, its backlog grew until asks timed out, and the overload fed itself.
        /// </summary>
        public int Outstanding(TimeSpan now) => FailingOver ? Active(now) : InFlight.Count(f => f.SentAt >= AbandonedBefore);

        /// <summary>
        /// Set at the kill for the victim's VSs, cleared by their first reply from another member. Until
        /// then only young asks count: asks sent after the kill but before the survivors remove the
        /// victim (≈0.6 s) still go to its dead region and are lost, and capping them with the stale ones
        /// held the VS's traffic back until they timed out (the ask timeout, then 3 s), which was
        /// most of the measured failover gap. Asks sent after the removal wait in the shard region's
        /// buffer until the VS is re-homed, so traffic resumes as soon as the VS answers.
        /// </summary>
        public volatile bool FailingOver;

        /// <summary>
        /// UTC ticks at which the latest answered ask was sent. Every sweep of the VS that fired a sweep
        /// interval before that was queued ahead of the ask, and the reply means what it journaled is durable.
        /// </summary>
        public long AnsweredSentUtc;

        /// <summary>Every packet generated before this (UTC ticks) has been answered or given up on.</summary>
        /// <summary>
        /// Asks that timed out, until a later ask of this VS is answered. A timed-out batch may still be
        /// queued at a backlogged VS (never processed, its deltas never journaled): the watermark must not
        /// pass it. A later answer proves it was processed first (one sender, one path: FIFO) and, since
        /// a reply means every delta produced before it is durable, journaled.
        /// </summary>
        public readonly List<(TimeSpan SentAt, long FirstTimestamp, TimedPacket[] Packets)> TimedOut = [];

        /// <summary>The member that answered this VS last: an answer from another one means the VS moved.</summary>
        public string? LastMember;

        /// <summary>
        /// Connections with a packet in an ask that timed out at a home the VS has since left. FIFO proves
        /// nothing across homes: the old incarnation may have stopped (hand-off, rebalance) without
        /// processing or journaling that ask, and the new one never saw its packets. Such a connection
        /// is never counted as synced (a run that rebalanced during traffic counted 45 of them lost).
        /// </summary>
        public readonly HashSet<FlowKey> Stranded = [];

        /// <summary>
        /// Moves of this VS to another home seen in replies: when (UTC ticks), and the latest delayed-sync
        /// due time the old home had swept and answered for (see <see cref="AnsweredSentUtc"/>). A
        /// delayed-sync connection not yet synced at a move is gone by design; it must not be counted
        /// as synced later (a rebalance during traffic counted 31 of them lost on one VS).
        /// </summary>
        public readonly List<(long MovedAtUtc, long OldSweptThrough)> Moves = [];

        /// <summary>Whether <paramref name="p"/> may have been lost by a move of this VS before the kill (not the kill's fault).</summary>
        public bool LostInAMove(FlowProbe p)
        {
            if (Stranded.Contains(p.Key))
                return true;
            foreach (var (movedAt, oldSwept) in Moves)
            {
                if (p.Sync == SyncMode.Delayed && p.FirstPacketAt < movedAt && p.FirstPacketAt + p.SyncDelay.Ticks > oldSwept)
                    return true;
            }
            return false;
        }

        public long Watermark(long now)
        {
            var w = now;
            foreach (var f in TimedOut)
                w = Math.Min(w, f.FirstTimestamp);
            if (Pending.Count > 0)
                w = Math.Min(w, Pending[0].Timestamp);
            foreach (var f in InFlight)
                w = Math.Min(w, f.FirstTimestamp);
            return w;
        }
    }

    private static readonly TimeSpan StaleAsk = TimeSpan.FromMilliseconds(500);

    /// <summary>The traffic phase on its own (internal for tests with a stand-in region).</summary>
    internal async Task<DemoReport> DriveAsync(IActorRef region, Topology topology, string[] names, int[] ports, CancellationToken ct)
    {
        if (!_clock.IsRunning)
            _clock.Start();
        var generator = new TrafficGenerator(topology, new TrafficOptions { Seed = options.Seed, Connections = options.Connections });
        // Each lane starts knowing where its VS was started: a VS handed over before its first answer
        // (its first journal write still pending) must count as moved too (run d1: 20 lost that way).
        var lanes = topology.VirtualSystems.ToDictionary(v => v.Id, v => new Lane { LastMember = _tally.MemberOf(v.Id) });
        var traffic = Stopwatch.StartNew();
        var start = _clock.Elapsed;
        TimeSpan Now() => _clock.Elapsed - start; // traffic time
        long generated = 0;
        var nextProgress = TimeSpan.FromSeconds(1);
        Task<VirtualSystemReplies.Status?[]>? statusPoll = null;
        var lastAnswered = new Dictionary<string, long>();
        var lastProgressAt = TimeSpan.Zero;
        MemberProcess? victim = null;
        IReadOnlySet<VsId> victimVss = new HashSet<VsId>();
        IReadOnlyList<FlowProbe> probes = [];
        Task<(long Lost, long Unanswered)>? probing = null;
        Dictionary<string, int> activeBefore = [];
        var statuses = new Dictionary<VsId, VirtualSystemReplies.Status>();

        void Send(VsId vs, Lane lane)
        {
            // Caller holds _laneGate.
            var now = Now();
            var active = lane.Active(now);
            var outstanding = lane.Outstanding(now);
            while (active < MaxInFlightPerVs && outstanding < MaxOutstandingPerVs && lane.Pending.Count > 0)
            {
                var n = Math.Min(MaxPacketsPerAsk, lane.Pending.Count);
                var packets = lane.Pending.GetRange(0, n).ToArray();
                lane.Pending.RemoveRange(0, n);
                var entry = (now, packets[0].Timestamp);
                var sentUtc = DateTime.UtcNow.Ticks;
                lane.InFlight.Add(entry);
                active++;
                outstanding++;
                _tally.Sent(n);
                _ = region.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(vs, packets), AskTimeout)
                    .ContinueWith(t =>
                    {
                        if (t.IsCompletedSuccessfully)
                        {
                            _tally.Record(vs, t.Result, Now());
                            if (lane.FailingOver && victim is { } v && t.Result.Member != v.Name)
                                lane.FailingOver = false;
                        }
                        else
                            _tally.Unanswered(n);
                        lock (_laneGate)
                        {
                            lane.InFlight.Remove(entry);
                            if (!t.IsCompletedSuccessfully)
                            {
                                // Sent before the VS was seen to move: it went to the old home, which may
                                // have stopped without processing it; no later answer can vouch for it.
                                if (lane.Moves.Count > 0 && sentUtc < lane.Moves[^1].MovedAtUtc)
                                {
                                    foreach (var p in packets)
                                        lane.Stranded.Add(FlowKey.FromPacket(p.Header));
                                }
                                else
                                {
                                    lane.TimedOut.Add((entry.now, entry.Item2, packets));
                                }
                            }
                            else
                            {
                                if (lane.LastMember is { } last && last != t.Result.Member)
                                {
                                    lane.Moves.Add((DateTime.UtcNow.Ticks, lane.AnsweredSentUtc - (SweepInterval + SweepSlack).Ticks));
                                    foreach (var f in lane.TimedOut)
                                    {
                                        foreach (var p in f.Packets)
                                            lane.Stranded.Add(FlowKey.FromPacket(p.Header));
                                    }
                                    lane.TimedOut.Clear();
                                }
                                else
                                {
                                    lane.TimedOut.RemoveAll(f => f.SentAt < entry.now);
                                }
                                lane.LastMember = t.Result.Member;
                                lane.AnsweredSentUtc = Math.Max(lane.AnsweredSentUtc, sentUtc);
                            }
                        }
                    }, TaskScheduler.Default);
            }
        }

        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var now = Now();
            var trafficOn = now < options.Duration;

            // 1. Generate what the rate asks for (at most one second of debt), pausing VSs that lag.
            if (trafficOn)
            {
                var due = (long)(options.Rate * now.TotalSeconds) - generated;
                if (due > options.Rate)
                {
                    generated += due - options.Rate;
                    due = options.Rate;
                }
                if (due > 0)
                {
                    HashSet<VsId> paused;
                    lock (_laneGate)
                        paused = lanes.Where(l => l.Value.Pending.Count >= PendingCapPerVs).Select(l => l.Key).ToHashSet();
                    var batch = generator.NextBatch((int)Math.Min(due, 50_000), DateTime.UtcNow.Ticks, paused);
                    generated += batch.Count;
                    lock (_laneGate)
                    {
                        foreach (var (vs, packets) in batch.PerVs)
                            lanes[vs].Pending.AddRange(packets);
                    }
                }
            }

            // 2. Send within each VS's in-flight budget.
            lock (_laneGate)
            {
                foreach (var (vs, lane) in lanes)
                    Send(vs, lane);
            }

            // 3. The failover.
            if (!options.NoFailover && victim is null && now >= options.FailoverAt)
            {
                activeBefore = _tally.ActiveCounts();
                var order = names.ToList();
                victim = _members
                    .Where(m => activeBefore.GetValueOrDefault(m.Name) > 0)
                    .OrderByDescending(m => m.Name == names[0] ? -1 : order.IndexOf(m.Name))
                    .FirstOrDefault() ?? _members[^1];
                victimVss = _tally.MarkKill(victim.Name, now);
                // Synced as of each VS's watermark: packets still queued or unanswered may not have
                // reached the VS, so a flow counts only if its handshake was answered (journaled).
                var probeList = new List<FlowProbe>();
                var utcNow = DateTime.UtcNow.Ticks;
                lock (_laneGate)
                {
                    foreach (var vs in victimVss)
                        probeList.AddRange(generator.SyncedProbes(lanes[vs].Watermark(utcNow), SyncMargin, new HashSet<VsId> { vs },
                                lanes[vs].AnsweredSentUtc - (SweepInterval + SweepSlack).Ticks)
                            .Where(p => !lanes[vs].LostInAMove(p)));
                }
                probes = probeList;
                _killedAtUtc = DateTime.UtcNow.Ticks;
                victim.Kill();
                // Asks in flight to the victim's VSs are stranded: they must not hold those VSs' traffic
                // back until they time out (the measured gap would be the ask timeout).
                lock (_laneGate)
                {
                    foreach (var vs in victimVss)
                    {
                        lanes[vs].AbandonedBefore = now + TimeSpan.FromTicks(1);
                        lanes[vs].FailingOver = true;
                    }
                }
                _view.Event(now, $"killed {victim.Name} (SIGKILL) — it was Active for VSs {string.Join(", ", victimVss.Order())}; {probes.Count} synced connections to check");
            }
            if (victim is not null && probing is null && (_tally.AllRecovered() || now - options.FailoverAt > RecoveryTimeout || (!trafficOn && now - options.FailoverAt > RecoveryTimeout)))
            {
                var gaps = _tally.Gaps();
                _view.Event(now, gaps.Count == victimVss.Count
                    ? $"failover complete: {string.Join(", ", gaps.OrderBy(g => g.Key).Select(g => $"VS {g.Key} on {_tally.MemberOf(g.Key)} after {g.Value:0} ms"))}"
                    : $"failover incomplete after {RecoveryTimeout.TotalSeconds:0} s: {victimVss.Count - gaps.Count} VSs not back");
                probing = ProbeAsync(region, probes, ct);
            }

            // 4. Progress once a second.
            if (statusPoll is { IsCompleted: true })
            {
                foreach (var s in statusPoll.Result)
                {
                    if (s is null)
                        continue;
                    statuses[s.VsId] = s;
                    _tally.SetMember(s.VsId, s.Member);
                }
                statusPoll = null;
                ShowProgress(now, names, lastAnswered, ref lastProgressAt, statuses);
            }
            if (now >= nextProgress && statusPoll is null)
            {
                nextProgress = now + TimeSpan.FromSeconds(1);
                statusPoll = PollStatusAsync(region, topology);
            }

            // 5. Done when traffic time is over, everything sent has been answered, and the probes are in.
            if (!trafficOn)
            {
                bool drained;
                lock (_laneGate)
                    drained = lanes.Values.All(l => l.InFlight.Count == 0 && l.Pending.Count == 0);
                var probesDone = options.NoFailover || (probing?.IsCompleted ?? false);
                if ((drained && probesDone) || now > options.Duration + RecoveryTimeout + TimeSpan.FromSeconds(10))
                    break;
            }
            await Task.Delay(5, ct).ConfigureAwait(false);
        }

        var final = await PollStatusAsync(region, topology).ConfigureAwait(false);
        foreach (var s in final)
        {
            if (s is null)
                continue;
            statuses[s.VsId] = s;
            _tally.SetMember(s.VsId, s.Member);
        }
        var (lost, probesUnanswered) = probing is { IsCompletedSuccessfully: true } ? probing.Result : (0, probes.Count);
        return BuildReport(topology, names, ports, generator, traffic.Elapsed, victim, victimVss, activeBefore, statuses, probes.Count, lost, probesUnanswered);
    }

    private async Task<(long Lost, long Unanswered)> ProbeAsync(IActorRef region, IReadOnlyList<FlowProbe> probes, CancellationToken ct)
    {
        long lost = 0, unanswered = 0;
        var lostProbes = new System.Collections.Concurrent.ConcurrentBag<FlowProbe>();
        using var limit = new SemaphoreSlim(64);
        var tasks = probes.Select(async p =>
        {
            await limit.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                var packet = new TimedPacket(DateTime.UtcNow.Ticks, p.Probe);
                var v = await region.Ask<VirtualSystemReplies.PacketVerdicts>(new VirtualSystemCommands.ProcessPackets(p.Vs, [packet]), AskTimeout, ct).ConfigureAwait(false);
                if (v.Counts.OutOfState > 0)
                {
                    Interlocked.Increment(ref lost);
                    lostProbes.Add(p);
                }
            }
            catch (Exception) when (!ct.IsCancellationRequested) // timeout, or a VS failing during a failover: try again / count it
            {
                Interlocked.Increment(ref unanswered);
            }
            finally
            {
                limit.Release();
            }
        }).ToArray();
        await Task.WhenAll(tasks).ConfigureAwait(false);
        if (_lostProbesPath is { } path)
        {
            // One line per lost connection, times in ms relative to the kill: what it takes to trace
            // one through the journal (persistence id vs-<VS>).
            static string Ms(long ticks, long kill) => ticks == 0 ? "-" : ((ticks - kill) / TimeSpan.TicksPerMillisecond).ToString(CultureInfo.InvariantCulture);
            var lines = lostProbes.OrderBy(p => p.Vs.Value).ThenBy(p => p.FlowId).Select(p =>
                $"vs={p.Vs} flow={p.FlowId} key={p.Key} sync={p.Sync} first_packet_ms={Ms(p.FirstPacketAt, _killedAtUtc)} established_ms={Ms(p.EstablishedAt, _killedAtUtc)}");
            await File.WriteAllLinesAsync(path, lines, ct).ConfigureAwait(false);
        }
        return (lost, unanswered);
    }

    private static async Task<VirtualSystemReplies.Status?[]> PollStatusAsync(IActorRef region, Topology topology)
    {
        var asks = topology.VirtualSystems.Select(async vs =>
        {
            try
            {
                return await region.Ask<VirtualSystemReplies.Status>(new VirtualSystemQueries.GetStatus(vs.Id), TimeSpan.FromMilliseconds(900)).ConfigureAwait(false);
            }
            catch (Exception) // no answer this second: the next poll will tell
            {
                return null;
            }
        });
        return await Task.WhenAll(asks).ConfigureAwait(false);
    }

    private void ShowProgress(TimeSpan now, string[] names, Dictionary<string, long> lastAnswered, ref TimeSpan lastAt, Dictionary<VsId, VirtualSystemReplies.Status> statuses)
    {
        var answered = _tally.AnsweredByMember();
        var seconds = Math.Max(0.001, (now - lastAt).TotalSeconds);
        lastAt = now;
        var active = _tally.ActiveCounts();
        var members = names.Select(name =>
        {
            var process = _members.FirstOrDefault(m => m.Name == name);
            var killed = process?.Killed ?? false;
            var pps = (answered.GetValueOrDefault(name) - lastAnswered.GetValueOrDefault(name)) / seconds;
            var connections = statuses.Values.Where(s => s.Member == name).Sum(s => s.Connections);
            var state = killed ? "killed" : process is { HasExited: true } ? $"exited {process.ExitCode}" : "up";
            return new MemberProgress(name, state, killed ? 0 : active.GetValueOrDefault(name), killed ? 0 : connections, killed ? 0 : pps);
        }).ToList();
        foreach (var (k, v) in answered)
            lastAnswered[k] = v;
        var (sent, totals, unanswered) = _tally.Totals();
        _view.Progress(new ProgressSnapshot(now, members, sent, totals.Accepted, totals.PolicyDropped + totals.Rejected, totals.OutOfState, unanswered));
    }

    private DemoReport BuildReport(Topology topology, string[] names, int[] ports, TrafficGenerator generator, TimeSpan elapsed,
        MemberProcess? victim, IReadOnlySet<VsId> victimVss, Dictionary<string, int> activeBefore,
        Dictionary<VsId, VirtualSystemReplies.Status> statuses, int probed, long lost, long probesUnanswered)
    {
        var (sent, totals, unanswered) = _tally.Totals();
        var answered = _tally.AnsweredByMember();
        var gaps = _tally.Gaps();
        var activeAfter = _tally.ActiveCounts();
        if (victim is null)
            activeBefore = activeAfter;
        var stats = generator.Stats(DateTime.UtcNow.Ticks);
        var duration = Math.Min(elapsed.TotalSeconds, options.Duration.TotalSeconds);
        return new DemoReport
        {
            Members = names.Select((n, i) => new MemberReport(n, ports[i], victim?.Name == n, activeBefore.GetValueOrDefault(n),
                victim?.Name == n ? 0 : activeAfter.GetValueOrDefault(n), answered.GetValueOrDefault(n))).ToList(),
            VirtualSystems = topology.VirtualSystems.Select(vs => new VirtualSystemReport(
                vs.Id.Value, vs.Name,
                victimVss.Contains(vs.Id) ? victim!.Name : _tally.MemberOf(vs.Id),
                _tally.MemberOf(vs.Id),
                victimVss.Contains(vs.Id),
                gaps.TryGetValue(vs.Id, out var g) ? Math.Round(g, 1) : null,
                statuses.TryGetValue(vs.Id, out var s) ? s.Connections : 0)).ToList(),
            PacketsSent = sent,
            PacketsAccepted = totals.Accepted,
            PolicyDrops = totals.PolicyDropped + totals.Rejected,
            OutOfStateDrops = totals.OutOfState,
            OverLimitDrops = totals.OverLimit,
            PacketsUnanswered = unanswered,
            ConnectionsOpened = stats.ConnectionsOpened,
            ConnectionsSynced = stats.ConnectionsSynced,
            ConnectionsProbed = probed,
            ConnectionsLostOnFailover = lost,
            ProbesUnanswered = probesUnanswered,
            FailoverGapMs = gaps.OrderBy(p => p.Key).ToDictionary(p => p.Key.ToString(), p => Math.Round(p.Value, 1)),
            FailoverGapMsMax = gaps.Count > 0 ? Math.Round(gaps.Values.Max(), 1) : null,
            ThroughputPps = Math.Round(totals.Total / Math.Max(0.001, duration), 1),
            DurationS = Math.Round(duration, 3),
            Failover = victim is not null,
            KilledMember = victim?.Name,
            KilledAtS = victim is null ? null : Math.Round(options.FailoverAt.TotalSeconds, 3),
        };
    }

    internal static void WriteHumanReport(IAnsiConsole console, DemoReport r)
    {
        var members = new Table().Border(TableBorder.Rounded).Title("members")
            .AddColumn("member").AddColumn("port").AddColumn("killed").AddColumn(new TableColumn("VSs before").RightAligned())
            .AddColumn(new TableColumn("VSs after").RightAligned()).AddColumn(new TableColumn("packets answered").RightAligned()).AddColumn("exit");
        foreach (var m in r.Members)
            members.AddRow(m.Name, m.Port.ToString(CultureInfo.InvariantCulture), m.Killed ? "yes" : "", m.ActiveVirtualSystemsBefore.ToString(CultureInfo.InvariantCulture),
                m.ActiveVirtualSystemsAfter.ToString(CultureInfo.InvariantCulture), m.PacketsAnswered.ToString("N0", CultureInfo.InvariantCulture),
                m.Killed ? "SIGKILL" : m.ExitCode is { } code ? code.ToString(CultureInfo.InvariantCulture) : "?");
        console.Write(members);

        var vss = new Table().Border(TableBorder.Rounded).Title("virtual systems")
            .AddColumn("VS").AddColumn("name").AddColumn("before").AddColumn("after").AddColumn(new TableColumn("failover gap").RightAligned())
            .AddColumn(new TableColumn("connections").RightAligned());
        foreach (var v in r.VirtualSystems)
            vss.AddRow(v.Id.ToString(CultureInfo.InvariantCulture), Markup.Escape(v.Name), v.MemberBefore ?? "?", v.MemberAfter ?? "?",
                v.FailedOver ? (v.FailoverGapMs is { } g ? $"{g:0} ms" : "[red]not back[/]") : "",
                v.Connections.ToString("N0", CultureInfo.InvariantCulture));
        console.Write(vss);

        var totals = new Table().Border(TableBorder.Rounded).Title("totals").AddColumn("").AddColumn(new TableColumn("").RightAligned()).HideHeaders();
        void Row(string name, string value) => totals.AddRow(name, value);
        Row("packets sent", r.PacketsSent.ToString("N0", CultureInfo.InvariantCulture));
        Row("packets accepted", r.PacketsAccepted.ToString("N0", CultureInfo.InvariantCulture));
        Row("policy drops", r.PolicyDrops.ToString("N0", CultureInfo.InvariantCulture));
        Row("out-of-state drops", r.OutOfStateDrops.ToString("N0", CultureInfo.InvariantCulture));
        Row("packets unanswered", r.PacketsUnanswered.ToString("N0", CultureInfo.InvariantCulture));
        Row("throughput", $"{r.ThroughputPps:N0} packets/s");
        Row("connections opened", r.ConnectionsOpened.ToString("N0", CultureInfo.InvariantCulture));
        Row("connections synced", r.ConnectionsSynced.ToString("N0", CultureInfo.InvariantCulture));
        if (r.Failover)
        {
            Row("killed", $"{r.KilledMember} at {r.KilledAtS:0.0} s");
            Row("synced connections probed", r.ConnectionsProbed.ToString("N0", CultureInfo.InvariantCulture));
            Row("connections lost on failover", r.ConnectionsLostOnFailover == 0 ? "[green]0[/]" : $"[red]{r.ConnectionsLostOnFailover:N0}[/]");
            Row("largest failover gap", r.FailoverGapMsMax is { } g ? $"{g:0} ms" : "[red]a VS did not come back[/]");
        }
        console.Write(totals);
    }

    private async Task ShutdownAsync(IHost? driver)
    {
        if (driver is not null)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                await driver.StopAsync(cts.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The driver's leave is best effort (and a host that failed to start cannot be stopped
                // cleanly): the members are stopped next either way.
            }
            try
            {
                driver.Dispose();
            }
            catch (Exception)
            {
                // same: best effort
            }
        }
        // Graceful: each member leaves and hands its VSs over; in parallel so the demo ends in seconds.
        // Idempotent: a member that has exited is left alone; disposal happens once, at the very end.
        await Task.WhenAll(_members.Select(m => m.TerminateAsync(TimeSpan.FromSeconds(30)))).ConfigureAwait(false);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

}
