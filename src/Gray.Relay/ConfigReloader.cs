// Hot reload: on SIGHUP, or when the config file changes (debounced), the relay reads its settings
// again and applies what changed without dropping connections. A file that does not parse is
// refused with a logged error, and the settings in force stay.
using Gray.Net;
using Microsoft.Extensions.Logging;
using Gray.Hosting;

namespace Gray.Relay;

internal sealed class ConfigReloader : IDisposable
{
    private readonly RelayConfigSource _source;
    private readonly RelayContext _relay;
    private readonly TlsServer _control;
    private readonly string _dataDir;
    private readonly ILogger _log;
    private readonly object _gate = new();
    private ReloadTrigger? _trigger;

    private readonly LogControl _logs;

    public ConfigReloader(RelayConfigSource source, RelayContext relay, TlsServer control, string dataDir,
        LogControl logs, ILogger log)
    {
        _logs = logs;
        _source = source;
        _relay = relay;
        _control = control;
        _dataDir = dataDir;
        _log = log;
    }

    public void Start()
    {
        _trigger = new ReloadTrigger(_source.Path, trigger => SafeReload(trigger));
        if (_trigger.HangupWasIgnored) RelayLog.HangupTakenBack(_log);
    }

    // On a timer or signal thread, where an exception would end the process: whatever fails is logged.
    private void SafeReload(string trigger)
    {
        try
        {
            Reload(trigger);
        }
        catch (Exception error)
        {
            _relay.Metrics.Reloaded(ok: false);
            _log.LogError(error, "Configuration reload ({Trigger}) failed; the settings may be partly applied",
                trigger);
        }
    }

    /// <summary>Reads the settings again and applies them; false (and nothing changed) if they are invalid.</summary>
    public bool Reload(string trigger)
    {
        _log.LogInformation("Reading the configuration again ({Trigger})", trigger);
        lock (_gate)
        {
            RelayOptions fresh;
            System.Security.Cryptography.X509Certificates.X509Certificate2 certificate;
            try
            {
                fresh = _source.Load();
                certificate = RelayCertificate.LoadOrCreate(fresh, _dataDir);
            }
            catch (Exception error) // whatever the file or its secrets became, the old settings stay
            {
                _relay.Metrics.Reloaded(ok: false);
                _log.LogError("Configuration reload ({Trigger}) refused, the old settings stay: {Reason}", trigger,
                    error.Message);
                _relay.Events.Publish(Events.RelayEventTypes.ConfigReloaded, reason: "refused: " + error.Message);
                return false;
            }

            List<string> declared;
            try
            {
                declared = DeclaredServers.Sync(_relay, fresh);
            }
            catch (Exception error) when (error is RegistryException or Microsoft.Data.Sqlite.SqliteException)
            {
                _relay.Metrics.Reloaded(ok: false);
                _log.LogError("Configuration reload ({Trigger}) refused: {Reason}", trigger, error.Message);
                _relay.Events.Publish(Events.RelayEventTypes.ConfigReloaded, reason: "refused: " + error.Message);
                return false;
            }

            var changes = Apply(fresh, certificate);
            changes.AddRange(declared);
            _relay.Metrics.Reloaded(ok: true);
            _relay.Events.Publish(Events.RelayEventTypes.ConfigReloaded,
                reason: changes.Count == 0 ? "nothing changed" : string.Join(", ", changes));
            _log.LogInformation("Configuration reloaded ({Trigger}): {Changes}", trigger,
                changes.Count == 0 ? "nothing changed" : string.Join(", ", changes));
            return true;
        }
    }

    public void Dispose() => _trigger?.Dispose();

    private List<string> Apply(RelayOptions fresh,
        System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        var live = _relay.Options;
        var changes = new List<string>();
        fresh.MaxConnections = Math.Min(fresh.MaxConnections, _relay.ConnectionCeiling);

        void Set<T>(string name, T current, T next, Action<T> apply)
        {
            if (EqualityComparer<T>.Default.Equals(current, next)) return;
            apply(next);
            changes.Add($"{name} {current} → {next}");
        }

        Set("max_connections", live.MaxConnections, fresh.MaxConnections,
            v => { live.MaxConnections = v; _relay.Connections.Limit = v; });
        Set("max_clients", live.MaxClients, fresh.MaxClients, v => live.MaxClients = v);
        Set("max_pending", live.MaxPending, fresh.MaxPending, v => live.MaxPending = v);
        _relay.Clients.Limit = live.EffectiveMaxClients; // derived from max_connections unless set
        _relay.Pending.Limit = live.EffectiveMaxPending;
        Set("max_pending_per_ip", live.MaxPendingPerIp, fresh.MaxPendingPerIp,
            v => { live.MaxPendingPerIp = v; _relay.Pending.LimitPerAddress = v; });
        if (fresh.IPv4PrefixBits != live.IPv4PrefixBits || fresh.IPv6PrefixBits != live.IPv6PrefixBits)
        {
            changes.Add("ipv4_prefix/ipv6_prefix (take effect at the next start)");
        }
        Set("max_client_connections_per_ip", live.MaxClientConnectionsPerIp, fresh.MaxClientConnectionsPerIp,
            v => live.MaxClientConnectionsPerIp = v);
        Set("max_clients_per_server", live.MaxClientsPerServer, fresh.MaxClientsPerServer,
            v => live.MaxClientsPerServer = v);
        Set("max_waiting_clients", live.MaxWaitingClients, fresh.MaxWaitingClients, v => live.MaxWaitingClients = v);
        Set("handshake_timeout", live.HandshakeTimeout, fresh.HandshakeTimeout,
            v => { live.HandshakeTimeout = v; _control.Options.HandshakeTimeout = v; });
        Set("hello_timeout", live.HelloTimeout, fresh.HelloTimeout, v => live.HelloTimeout = v);
        Set("otp_timeout", live.OtpTimeout, fresh.OtpTimeout, v => live.OtpTimeout = v);
        Set("otp_lifetime", live.OtpLifetime, fresh.OtpLifetime, v => live.OtpLifetime = v);
        Set("ping_interval", live.PingInterval, fresh.PingInterval, v => live.PingInterval = v);
        Set("ping_timeout", live.PingTimeout, fresh.PingTimeout, v => live.PingTimeout = v);
        Set("client_wait_timeout", live.ClientWaitTimeout, fresh.ClientWaitTimeout, v => live.ClientWaitTimeout = v);
        Set("allow_plain_data", live.AllowPlainData, fresh.AllowPlainData, v => live.AllowPlainData = v);
        Set("allow_mux", live.AllowMux, fresh.AllowMux, v => live.AllowMux = v);
        Set("log_level", live.LogLevel, fresh.LogLevel, v =>
        {
            live.LogLevel = v;
            _logs.ApplyConfigured(v);
        });
        Set("http.open", string.Join(",", live.HttpOpen.Order(StringComparer.Ordinal)),
            string.Join(",", fresh.HttpOpen.Order(StringComparer.Ordinal)), _ => live.HttpOpen = fresh.HttpOpen);
        live.Declared = fresh.Declared;
        if (!RulesEqual(live, fresh))
        {
            live.DefaultRules = fresh.DefaultRules;
            live.Servers = fresh.Servers;
            changes.Add("server rules (pool limits, allow/deny lists, idle timeouts, bandwidth)");
        }

        foreach (var server in _relay.Manager.All) server.ApplyListenerSettings(live);

        string fingerprint = Certificates.Sha256Fingerprint(certificate);
        if (fingerprint != _relay.Fingerprint)
        {
            // New handshakes on the control port get the new certificate; data ports of agents already
            // connected keep the one those agents verified, until they reconnect.
            _relay.Certificate = certificate;
            _control.UpdateCertificate(certificate);
            changes.Add($"certificate SHA-256 {fingerprint}");
        }

        foreach (var (name, before, after) in new (string, object?, object?)[]
        {
            ("data_dir", live.DataDir, fresh.DataDir), ("control", live.Control, fresh.Control),
            ("ports", $"{live.PortLow}-{live.PortHigh}", $"{fresh.PortLow}-{fresh.PortHigh}"),
            ("public_bind", live.PublicBind, fresh.PublicBind),
            ("http.listen", live.HttpListen, fresh.HttpListen), ("http.tls", live.HttpTls, fresh.HttpTls),
            ("registry", live.Registry is null ? null : Registry.Redact(live.Registry),
                fresh.Registry is null ? null : Registry.Redact(fresh.Registry)),
            ("cluster", ClusterText(live.Cluster), ClusterText(fresh.Cluster)),
        })
        {
            if (!Equals(before, after))
            {
                _log.LogWarning("{Setting} changed to {Value}: it takes effect at the next restart", name, after);
            }
        }

        return changes;
    }

    private static string? ClusterText(ClusterOptions? cluster) => cluster is null ? null
        : $"{cluster.NodeId} at {cluster.Advertise}, heartbeat {cluster.HeartbeatInterval}, " +
            $"timeout {cluster.NodeTimeout}";

    private static bool RulesEqual(RelayOptions a, RelayOptions b) =>
        Same(a.DefaultRules, b.DefaultRules) && a.Servers.Count == b.Servers.Count
        && a.Servers.All(kv => b.Servers.TryGetValue(kv.Key, out var other) && Same(kv.Value, other));

    private static bool Same(ServerRules a, ServerRules b) =>
        a.MaxPool == b.MaxPool && a.PairIdleTimeout == b.PairIdleTimeout && a.SeparateDataPort == b.SeparateDataPort
        && a.Bandwidth == b.Bandwidth
        && a.ClientAllow.SequenceEqual(b.ClientAllow) && a.ClientDeny.SequenceEqual(b.ClientDeny);
}
