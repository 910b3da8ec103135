// The relay's log lines. Each connection-level line names the server and, where there is one, the pair.
// Secrets and OTPs never appear here.
using System.Net;
using Microsoft.Extensions.Logging;

namespace Gray.Relay;

internal static partial class RelayLog
{
    [LoggerMessage(100, LogLevel.Information, "Relay control on {EndPoint}; certificate SHA-256 {Fingerprint}")]
    public static partial void Started(ILogger logger, EndPoint endPoint, string fingerprint);

    [LoggerMessage(101, LogLevel.Information, "Relay stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(102, LogLevel.Information,
        "Server {ServerId}: agent {Agent} connected; clients on {ClientPort}, data on {DataPort}, pool " +
        "{Pool}, {DataMode} data")]
    public static partial void AgentConnected(ILogger logger, string serverId, EndPoint? agent, string clientPort,
        string dataPort, int pool, string dataMode);

    [LoggerMessage(103, LogLevel.Information, "Server {ServerId}: shut down ({Reason})")]
    public static partial void ServerShutDown(ILogger logger, string serverId, string reason);

    [LoggerMessage(104, LogLevel.Warning, "Control connection from {Remote} refused: {Code} ({Reason})")]
    public static partial void ControlRefused(ILogger logger, EndPoint? remote, Protocol.ErrorCode code, string reason);

    [LoggerMessage(105, LogLevel.Warning, "Control connection from {Remote} closed: {Reason}")]
    public static partial void ControlProtocolError(ILogger logger, EndPoint? remote, string reason);

    [LoggerMessage(106, LogLevel.Warning, "Server {ServerId}: data connection from {Remote} closed: {Reason}")]
    public static partial void DataRejected(ILogger logger, string serverId, EndPoint? remote, string reason);

    [LoggerMessage(107, LogLevel.Debug, "Server {ServerId} pair {PairId}: client {Client} paired")]
    public static partial void PairStarted(ILogger logger, string serverId, long pairId, EndPoint? client);

    [LoggerMessage(108, LogLevel.Debug,
        "Server {ServerId} pair {PairId}: ended, {BytesIn} bytes in, {BytesOut} bytes out{Fault}")]
    public static partial void PairEnded(ILogger logger, string serverId, long pairId, long bytesIn, long bytesOut,
        string fault);

    [LoggerMessage(109, LogLevel.Warning, "Server {ServerId}: client {Client} refused: {Reason}")]
    public static partial void ClientRefused(ILogger logger, string serverId, EndPoint? client, string reason);

    [LoggerMessage(110, LogLevel.Warning, "Server {ServerId}: no pong for {Seconds:0.#} s; shutting down")]
    public static partial void PingTimeout(ILogger logger, string serverId, double seconds);

    [LoggerMessage(111, LogLevel.Information,
        "Server {ServerId} added: clients on {ClientPort}, data port {DataPort}")]
    public static partial void ServerAdded(ILogger logger, string serverId, string clientPort, int dataPort);

    /// <summary>How clients reach a server, for the log: "port N", and its host names if any.</summary>
    public static string ClientsText(int? clientPort, IReadOnlyList<string> hosts) =>
        (clientPort, hosts.Count) switch
        {
            ({ } port, 0) => $"port {port}",
            ({ } port, _) => $"port {port} and host names {string.Join(", ", hosts)}",
            _ => $"host names {string.Join(", ", hosts)}",
        };

    [LoggerMessage(112, LogLevel.Information, "Server {ServerId} deleted")]
    public static partial void ServerDeleted(ILogger logger, string serverId);

    [LoggerMessage(113, LogLevel.Information, "Control plane (API, /metrics, dashboard) on {Url}")]
    public static partial void HttpListening(ILogger logger, Uri url);

    [LoggerMessage(114, LogLevel.Error, "Server {ServerId}: could not start")]
    public static partial void ServerStartFailed(ILogger logger, Exception error, string serverId);

    [LoggerMessage(115, LogLevel.Information,
        "SIGHUP was ignored when the relay started (nohup?): it now reloads the configuration")]
    public static partial void HangupTakenBack(ILogger logger);
}
