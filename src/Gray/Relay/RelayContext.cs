// What every part of a running relay shares.
using System.Security.Cryptography.X509Certificates;
using Gray.Net;
using Microsoft.Extensions.Logging;

namespace Gray.Relay;

internal sealed class RelayContext(RelayOptions options, ILoggerFactory loggerFactory, X509Certificate2 certificate, Registry registry)
{
    public RelayOptions Options { get; } = options;

    public ILoggerFactory LoggerFactory { get; } = loggerFactory;

    public X509Certificate2 Certificate { get; } = certificate;

    public string Fingerprint { get; } = Certificates.Sha256Fingerprint(certificate);

    public Registry Registry { get; } = registry;

    public ServerManager Manager { get; } = new();

    /// <summary>Options for the relay's own listeners: Gray.Net's defaults with our handshake deadline.</summary>
    public TcpServerOptions ListenerOptions(int maxSessions) => new()
    {
        MaxSessions = maxSessions,
        HandshakeTimeout = Options.HandshakeTimeout,
        LoggerFactory = LoggerFactory,
        // Control frames are small; a peer that lets 1 MiB of them pile up is not reading.
        SendQueueLimitBytes = 1024 * 1024,
    };
}
