// The agent's log lines. Secrets and OTPs never appear here.
using System.Net;
using Microsoft.Extensions.Logging;

namespace Gray.Agent;

internal static partial class AgentLog
{
    [LoggerMessage(200, LogLevel.Information,
        "Server {ServerId}: connected to relay {Relay}; public on {Public}, forwarding to {Target}")]
    public static partial void Connected(ILogger logger, string serverId, string relay, string @public, string target);

    [LoggerMessage(201, LogLevel.Warning, "Server {ServerId}: target {Target} refused pair {PairId}: {Reason}")]
    public static partial void TargetFailed(ILogger logger, string serverId, string target, long pairId, string reason);

    [LoggerMessage(202, LogLevel.Warning, "Server {ServerId}: data connection failed: {Reason}")]
    public static partial void DataFailed(ILogger logger, string serverId, string reason);

    [LoggerMessage(203, LogLevel.Debug, "Server {ServerId} pair {PairId}: client {Client}")]
    public static partial void PairStarted(ILogger logger, string serverId, long pairId, EndPoint client);

    [LoggerMessage(204, LogLevel.Debug,
        "Server {ServerId} pair {PairId}: ended, {BytesIn} bytes in, {BytesOut} bytes out")]
    public static partial void PairEnded(ILogger logger, string serverId, long pairId, long bytesIn, long bytesOut);

    [LoggerMessage(205, LogLevel.Warning,
        "Server {ServerId}: no word from the relay for {Seconds:0.#} s; reconnecting")]
    public static partial void RelaySilent(ILogger logger, string serverId, double seconds);

    [LoggerMessage(206, LogLevel.Information,
        "Recorded relay {Relay} with fingerprint {Fingerprint} in {Path} (trust on first use)")]
    public static partial void TrustedOnFirstUse(ILogger logger, string relay, string fingerprint, string path);

    [LoggerMessage(207, LogLevel.Warning, "Server {ServerId}: relay closed the control connection: {Reason}")]
    public static partial void ControlLost(ILogger logger, string serverId, string reason);

    [LoggerMessage(208, LogLevel.Information,
        "SIGHUP was ignored when the agent started (nohup?): it now reloads the configuration")]
    public static partial void HangupTakenBack(ILogger logger);

    [LoggerMessage(209, LogLevel.Warning,
        "Server {ServerId}: the relay did not grant multiplexed data connections; using pooled ones")]
    public static partial void MuxNotGranted(ILogger logger, string serverId);

    [LoggerMessage(210, LogLevel.Warning,
        "Relay {Relay} trusted for this run, but its fingerprint could not be kept in {Path} ({Reason}); give " +
        "--fingerprint, or a writable state directory, so that a changed certificate is noticed")]
    public static partial void CannotRememberRelay(ILogger logger, string relay, string path, string reason);
}
