// One tunnel on every node of a relay cluster (decision 0042): a session and a pool on each address the
// agent was given (a name with several addresses counts each), and on each live node the relays name, up
// to max_nodes, preferring the nodes this server ranks first (rendezvous hashing, so agents spread over a
// large cluster); draining nodes are not counted, so the agent rebalances onto the others. Each session is
// a TunnelAgent of its own, pinned to the certificate its node presents: the one given (or trusted on
// first use, under the name given) for the addresses given, the one the cluster names for nodes learned.
using System.Net;
using System.Net.Sockets;
using Gray.Hosting;
using Gray.Protocol;
using Microsoft.Extensions.Logging;

namespace Gray.Agent;

internal sealed class NodeSessions(AgentOptions options, Func<AgentOptions, TunnelAgent> createAgent, ILogger log,
    TimeProvider? time = null)
{
    /// <summary>Before a session refused by its node is tried again while another node serves.</summary>
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(5), LongestRetry = TimeSpan.FromMinutes(1);

    /// <summary>How often sessions to nodes no longer listed are looked for.</summary>
    private static readonly TimeSpan PruneInterval = TimeSpan.FromSeconds(30);

    private readonly object _gate = new();
    private readonly List<Session> _sessions = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly TaskCompletionSource _allEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _gone = new(StringComparer.Ordinal); // listed once, missing since
    private HashSet<string> _listed = new(StringComparer.Ordinal);
    private CancellationToken _stopping;
    private int _worstExitCode;

    /// <summary>Runs until cancelled (0) or until every session ended by itself (the worst exit code).</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        _stopping = cancellationToken;
        var seeds = await SeedsAsync().ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var seed in seeds) Start(seed, nodeId: null, learned: false);
        }

        using var pruning = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var prune = PruneAsync(pruning.Token);
        try
        {
            await _allEnded.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return Volatile.Read(ref _worstExitCode);
        }
        catch (OperationCanceledException)
        {
            Task[] running;
            lock (_gate) running = [.. _sessions.Select(s => s.Task)];
            await Task.WhenAll(running).ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        finally
        {
            await pruning.CancelAsync().ConfigureAwait(false);
            await prune.ConfigureAwait(false);
        }
    }

    // Every --relay, and each address of a name that has several (a cluster behind one DNS name). Such an
    // address is dialled by number but trusted by the name: known_relays keeps the name's certificate.
    private async Task<List<AgentOptions>> SeedsAsync()
    {
        var seeds = new List<AgentOptions>();
        foreach (var relay in new[] { options.Relay }.Concat(options.MoreRelays))
        {
            var addresses = Array.Empty<IPAddress>();
            if (options.RelayWebSocket is null && options.Proxy is null && !IPAddress.TryParse(relay.Host, out _))
            {
                try
                {
                    addresses = await Dns.GetHostAddressesAsync(relay.Host, _stopping).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                    // Not resolvable now: the session resolves it again on each try.
                }
            }

            if (addresses.Length > 1)
            {
                seeds.AddRange(addresses.Take(options.MaxNodes).Select(a => options with
                {
                    Relay = new DnsEndPoint(a.ToString(), relay.Port), MoreRelays = [],
                    TrustName = $"{relay.Host}:{relay.Port}",
                }));
            }
            else
            {
                seeds.Add(options with { Relay = relay, MoreRelays = [] });
            }
        }

        return seeds;
    }

    private void Start(AgentOptions sessionOptions, string? nodeId, bool learned)
    {
        var session = new Session(sessionOptions, learned,
            CancellationTokenSource.CreateLinkedTokenSource(_stopping)) { NodeId = nodeId };
        session.Agent = NewAgent(session);
        _sessions.Add(session);
        session.Task = RunSessionAsync(session);
    }

    private TunnelAgent NewAgent(Session session)
    {
        var agent = createAgent(session.Options);
        agent.NodesLearned = nodes => Follow(session, nodes);
        return agent;
    }

    private async Task RunSessionAsync(Session session)
    {
        await Task.Yield();
        var retry = FirstRetry;
        while (true)
        {
            int exitCode = await session.Agent!.RunAsync(session.Cancellation.Token).ConfigureAwait(false);
            lock (_gate)
            {
                // Refused by its node (it may learn of this server a moment after another node) while another
                // session serves: tried again. Anything else (stopped, another agent took over) ends it.
                bool again = exitCode == ExitCodes.Usage && !session.Cancellation.IsCancellationRequested
                    && _sessions.Any(s => s != session && s.Agent?.IsConnected == true);
                if (!again)
                {
                    // Taken over by our own session on the same node (a name and an address of one node): no
                    // failure of the tunnel's.
                    bool twin = session.NodeId is { } node && _sessions.Any(s => s != session && s.NodeId == node);
                    End(session, session.Cancellation.IsCancellationRequested || twin ? ExitCodes.Ok : exitCode);
                    return;
                }
            }

            log.LogInformation("Server {ServerId}: relay {Relay} again in {Seconds} s (other nodes serve meanwhile)",
                options.Id, session.Options.RelayText, retry.TotalSeconds);
            try
            {
                await Task.Delay(retry, _time, session.Cancellation.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (_gate) End(session, ExitCodes.Ok);
                return;
            }

            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LongestRetry.Ticks));
            session.Agent = NewAgent(session);
        }
    }

    // Under _gate.
    private void End(Session session, int exitCode)
    {
        _sessions.Remove(session);
        session.Cancellation.Dispose();
        if (exitCode > _worstExitCode) _worstExitCode = exitCode;
        if (_sessions.Count == 0) _allEnded.TrySetResult();
    }

    // A node list from one session's relay: that session learns which node it is on; nodes not yet served get
    // a session, up to max_nodes taking clients; sessions to learned nodes no longer listed end unless they are
    // connected (a node may miss heartbeats while PostgreSQL is away and still serve). Sessions are cancelled
    // after the lock: a cancelled session may end at once on this thread.
    private void Follow(Session from, ClusterNodes nodes)
    {
        var cancel = new List<Session>();
        lock (_gate)
        {
            if (_stopping.IsCancellationRequested) return;
            from.NodeId = nodes.Self;
            var listed = nodes.Nodes.ToDictionary(n => n.Id);
            foreach (var gone in Unlisted(listed.Keys.ToHashSet(StringComparer.Ordinal)))
            {
                log.LogInformation("Server {ServerId}: node {Node} left the cluster", options.Id, gone.NodeId);
                cancel.Add(gone);
            }

            foreach (var session in _sessions.Where(s => !s.Cancellation.IsCancellationRequested).ToList())
            {
                if (session.Learned && session.NodeId is { } nodeId && listed.TryGetValue(nodeId, out var node)
                         && session.Options.Fingerprint != Convert.ToHexStringLower(node.Fingerprint))
                {
                    // Its node presents another certificate now (rolled): pinned to the new hash.
                    Start(session.Options with { Fingerprint = Convert.ToHexStringLower(node.Fingerprint) }, nodeId,
                        learned: true);
                    cancel.Add(session);
                }
            }

            // A node back in the list (restarted): a session of ours waiting to reconnect to it tries now, rather
            // than at the end of its backoff.
            _gone.UnionWith(_listed.Where(id => !listed.ContainsKey(id)));
            var back = _gone.Where(listed.ContainsKey).ToHashSet();
            _gone.ExceptWith(back);
            _listed = [.. listed.Keys];
            foreach (var waiting in _sessions.Where(s => s.NodeId is { } id && back.Contains(id)
                         && s.Agent?.IsConnected == false && !cancel.Contains(s)).ToList())
            {
                log.LogInformation("Server {ServerId}: node {Node} is back; reconnecting now", options.Id,
                    waiting.NodeId);
                Start(waiting.Options, waiting.NodeId, waiting.Learned);
                cancel.Add(waiting);
            }

            if (options.RelayWebSocket is null) JoinNodes(nodes, listed, cancel);
        }

        Cancel(cancel);
    }

    // Outside _gate. A session may have ended (and disposed its token source) since it was picked.
    private static void Cancel(List<Session> sessions)
    {
        foreach (var session in sessions)
        {
            try
            {
                session.Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    // Under _gate: sessions to learned nodes the last list did not name and that are not connected. A list
    // that leaves a node out ends them at once; one still running after the node died ends at the next prune.
    private List<Session> Unlisted(IReadOnlySet<string> listed) =>
        [.. _sessions.Where(s => s.Learned && s.NodeId is { } id && !listed.Contains(id)
            && s.Agent?.IsConnected != true && !s.Cancellation.IsCancellationRequested)];

    /// <summary>Every <see cref="PruneInterval"/>: learned sessions that lost their node (no list came to say
    /// so, because the live set did not change again) end.</summary>
    private async Task PruneAsync(CancellationToken stopping)
    {
        while (true)
        {
            try
            {
                await Task.Delay(PruneInterval, _time, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            List<Session> stale;
            lock (_gate) stale = _listed.Count == 0 ? [] : Unlisted(_listed);
            foreach (var session in stale)
            {
                log.LogInformation("Server {ServerId}: node {Node} is no longer in the cluster", options.Id,
                    session.NodeId);
            }

            Cancel(stale);
        }
    }

    // Learned nodes are dialled on their control port, best ranked for this server first.
    private void JoinNodes(ClusterNodes nodes, Dictionary<string, ClusterNode> listed, List<Session> cancel)
    {
        var live = _sessions.Where(s => !cancel.Contains(s)).ToList();
        // Taking clients: sessions on listed nodes that do not drain, and those whose node is not known yet.
        int taking = live.Count(s => s.NodeId is not { } id
            || (listed.TryGetValue(id, out var node) && !node.Draining));
        foreach (var node in nodes.Nodes.Where(n => !n.Draining)
                     .OrderBy(n => ClusterNodes.Rank(options.Id, n.Id)))
        {
            if (taking >= options.MaxNodes) break;
            if (live.Any(s => s.NodeId == node.Id || s.Options.RelayText == node.Address)) continue;
            if (!TryParseAddress(node.Address, out var address)) continue;
            log.LogInformation("Server {ServerId}: joining node {Node} at {Address}", options.Id, node.Id,
                node.Address);
            Start(options with
            {
                Relay = address, MoreRelays = [], Fingerprint = Convert.ToHexStringLower(node.Fingerprint),
            }, node.Id, learned: true);
            taking++;
        }
    }

    private static bool TryParseAddress(string text, out DnsEndPoint address)
    {
        int colon = text.LastIndexOf(':');
        address = null!;
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out int port) || port is <= 0 or > 65535) return false;
        address = new DnsEndPoint(text[..colon].Trim('[', ']'), port);
        return true;
    }

    private sealed class Session(AgentOptions options, bool learned, CancellationTokenSource cancellation)
    {
        public AgentOptions Options { get; } = options;

        /// <summary>Dialled because the cluster named it (not given on the command line).</summary>
        public bool Learned { get; } = learned;

        public string? NodeId { get; set; }

        public CancellationTokenSource Cancellation { get; } = cancellation;

        /// <summary>The session's agent (a new one after each retry).</summary>
        public TunnelAgent? Agent { get; set; }

        public Task Task { get; set; } = Task.CompletedTask;
    }
}
