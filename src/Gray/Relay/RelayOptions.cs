// Every relay setting with its default; filled from the YAML file, then from command-line flags.
using System.Net;

namespace Gray.Relay;

public sealed class RelayOptions
{
    public const int DefaultControlPort = 44555;

    public string DataDir { get; set; } = "./gray-data";

    public IPEndPoint Control { get; set; } = new(IPAddress.Any, DefaultControlPort);

    public int PortLow { get; set; } = 20000;

    public int PortHigh { get; set; } = 29999;

    /// <summary>Where client and data ports listen; null means the control address.</summary>
    public IPAddress? PublicBind { get; set; }

    /// <summary>PEM certificate and key; without them the relay makes and keeps its own.</summary>
    public string? CertificatePath { get; set; }

    public string? KeyPath { get; set; }

    /// <summary>May agents ask for plain-TCP data connections (--plain-data)?</summary>
    public bool AllowPlainData { get; set; } = true;

    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Deadline for each step of the control handshake (hello, proof).</summary>
    public TimeSpan HelloTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Deadline for a data connection to present its OTP, counted from accept.</summary>
    public TimeSpan OtpTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan OtpLifetime { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a client may wait for a pooled data connection.</summary>
    public TimeSpan ClientWaitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Clients that may wait at once per server; more are refused at once.</summary>
    public int MaxWaitingClients { get; set; } = 1024;

    public int MaxPool { get; set; } = Protocol.Wire.MaxPool;

    /// <summary>Concurrent connections per client port.</summary>
    public int MaxClientsPerServer { get; set; } = 10_000;

    public bool Console { get; set; } = true;

    public IPAddress EffectivePublicBind => PublicBind ?? Control.Address;
}
