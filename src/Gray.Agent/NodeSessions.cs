// One tunnel on every node of a relay cluster (decision 0042): a session and a pool on each address the
// agent was given (a name with several addresses counts each), and on each live node the relays name, up
// to max_nodes; draining nodes are not counted, so the agent rebalances onto the others. Each session is
// a TunnelAgent of its own, pinned to the certificate its node presents: the one given (or trusted on
// first use) for the addresses given, the one the cluster names for the nodes learned.
using System.Net;
using System.Net.Sockets;
using Gray.Hosting;
using Gray.Protocol;
using Microsoft.Extensions.Logging;

namespace Gray.Agent;

internal sealed class NodeSessions(AgentOptions options, Func<AgentOptions, TunnelAgent> createAgent, ILogger log,
    TimeProvider? time = null)
{
    /// <summary>Before a session that ended on an error is tried again while other sessions serve.</summary>
    private static readonly TimeSpan RetryAfterFatal = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private readonly List<Session> _sessions = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly TaskCompletionSource _allEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationToken _stopping;
    private HashSet<string> _listed = new(StringComparer.Ordinal);
    private readonly HashSet<string> _gone = new(StringComparer.Ordinal); // listed once, missing since
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
    }

    /// <summary>The sessions running now, with the node each is on once known (for tests and listings).</summary>
    internal IReadOnlyList<(string Relay, string? NodeId)> Running
    {
        get { lock (_gate) return [.. _sessions.Select(s => (s.Options.RelayText, s.NodeId))]; }
    }

    // Every --relay, and each address of a name that has several (a cluster behind one DNS name).
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
        var session = new Session(sessionOptions, learned) { NodeId = nodeId };
        var agent = createAgent(sessionOptions);
        agent.NodesLearned = nodes => Follow(session, nodes);
        session.Agent = agent;
        session.Cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        _sessions.Add(session);
        session.Task = RunSessionAsync(session, agent);
    }

    private async Task RunSessionAsync(Session session, TunnelAgent agent)
    {
        await Task.Yield();
        while (true)
        {
            int exitCode = await agent.RunAsync(session.Cancellation!.Token).ConfigureAwait(false);
            bool retry;
            lock (_gate)
            {
                retry = exitCode != ExitCodes.Ok && !session.Cancellation.IsCancellationRequested
                    && !session.Replaced && _sessions.Count > 1;
                if (!retry)
                {
                    _sessions.Remove(session);
                    if (!session.Cancellation.IsCancellationRequested && !session.Replaced
                        && exitCode > _worstExitCode)
                    {
                        _worstExitCode = exitCode;
                    }
                    if (_sessions.Count == 0) _allEnded.TrySetResult();
                    return;
                }
            }

            // Other nodes serve: this one may know the server only in a moment (the registry's change is on
            // its way), so it is tried again rather than given up.
            log.LogInformation("Server {ServerId}: relay {Relay} again in {Seconds} s (other nodes serve meanwhile)",
                options.Id, session.Options.RelayText, RetryAfterFatal.TotalSeconds);
            try
            {
                await Task.Delay(RetryAfterFatal, _time, session.Cancellation.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    _sessions.Remove(session);
                    if (_sessions.Count == 0) _allEnded.TrySetResult();
                }
                return;
            }

            agent = createAgent(session.Options);
            agent.NodesLearned = nodes => Follow(session, nodes);
            session.Agent = agent;
        }
    }

    // A node list from one session's relay: that session learns which node it is on; nodes not yet served get
    // a session, up to max_nodes taking clients; learned nodes no longer listed lose theirs.
    private void Follow(Session from, ClusterNodes nodes)
    {
        lock (_gate)
        {
            from.NodeId = nodes.Self;
            // Two sessions on one node (an address given and the same node learned): the relay keeps the
            // newer; the older ends without coming back.
            foreach (var twin in _sessions.Where(s => s != from && s.NodeId == nodes.Self)) twin.Replaced = true;
            if (_stopping.IsCancellationRequested) return;
            var listed = nodes.Nodes.ToDictionary(n => n.Id);
            foreach (var gone in _sessions.Where(s => s.Learned && s.NodeId is { } id && !listed.ContainsKey(id)))
            {
                log.LogInformation("Server {ServerId}: node {Node} left the cluster", options.Id, gone.NodeId);
                gone.Cancellation!.Cancel();
            }

            // A node back in the list (restarted): a session of ours waiting to reconnect to it tries now, rather
            // than at the end of its backoff.
            _gone.UnionWith(_listed.Where(id => !listed.ContainsKey(id)));
            var back = _gone.Where(listed.ContainsKey).ToHashSet();
            _gone.ExceptWith(back);
            _listed = [.. listed.Keys];
            foreach (var waiting in _sessions.Where(s => s.NodeId is { } id && back.Contains(id)
                         && s.Agent?.IsConnected == false && !s.Cancellation!.IsCancellationRequested).ToList())
            {
                log.LogInformation("Server {ServerId}: node {Node} is back; reconnecting now", options.Id,
                    waiting.NodeId);
                Start(waiting.Options, waiting.NodeId, waiting.Learned);
                waiting.Cancellation!.Cancel();
            }

            // A learned node that presents another certificate now (rolled): pinned to the new hash.
            foreach (var stale in _sessions.Where(s => s.Learned && s.NodeId is { } id && listed.TryGetValue(id,
                         out var node) && s.Options.Fingerprint != Convert.ToHexStringLower(node.Fingerprint)
                         && !s.Cancellation!.IsCancellationRequested).ToList())
            {
                Start(stale.Options with { Fingerprint = Convert.ToHexStringLower(listed[stale.NodeId!].Fingerprint) },
                    stale.NodeId, learned: true);
                stale.Cancellation!.Cancel();
            }

            if (options.RelayWebSocket is not null) return; // learned nodes are dialled on their control port
            int taking = _sessions.Count(s => s.NodeId is not { } id || listed.GetValueOrDefault(id)?.Draining != true);
            foreach (var node in nodes.Nodes.Where(n => !n.Draining))
            {
                if (taking >= options.MaxNodes) break;
                if (_sessions.Any(s => s.NodeId == node.Id || s.Options.RelayText == node.Address)) continue;
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
    }

    private static bool TryParseAddress(string text, out DnsEndPoint address)
    {
        int colon = text.LastIndexOf(':');
        address = null!;
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out int port) || port is <= 0 or > 65535) return false;
        address = new DnsEndPoint(text[..colon].Trim('[', ']'), port);
        return true;
    }

    private sealed class Session(AgentOptions options, bool learned)
    {
        public AgentOptions Options { get; } = options;

        /// <summary>Dialled because the cluster named it (not given on the command line).</summary>
        public bool Learned { get; } = learned;

        public string? NodeId { get; set; }

        /// <summary>Another session of this agent is on the same node: this one ends for good.</summary>
        public bool Replaced { get; set; }

        public CancellationTokenSource? Cancellation { get; set; }

        /// <summary>The session's agent (a new one after each retry).</summary>
        public TunnelAgent? Agent { get; set; }

        public Task Task { get; set; } = Task.CompletedTask;
    }
}
