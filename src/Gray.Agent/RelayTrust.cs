// Which relay certificate an agent accepts: a pinned --fingerprint (or one of several, while a certificate
// is rolled), else the one it trusted on first use (kept in the known-relays file), else the first it
// sees, which it then keeps.
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gray.Net;
using Microsoft.Extensions.Logging;

namespace Gray.Agent;

/// <summary>Fingerprint pinning, or trust on first use with the known-relays file.</summary>
internal sealed class RelayTrust(AgentOptions options, ILogger logger)
{
    private readonly string _relay = options.TrustName ?? options.RelayText;
    private bool _firstUse;

    public string? Accepted { get; private set; }

    public string? Failure { get; private set; }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            Failure = $"relay {_relay} sent no certificate";
            return false;
        }

        string actual = Certificates.Sha256Fingerprint(certificate);
        if (options.Fingerprint is { } pinned)
        {
            // Several pins (A,B) while a cluster's certificate is rolled: the old and the new one.
            if (pinned.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Any(pin => Certificates.MatchesFingerprint(certificate, pin)))
            {
                return Accept(actual);
            }

            Failure = $"relay {_relay} presented certificate SHA-256 {actual}, which is not the --fingerprint " +
                $"{pinned}; refusing to connect";
            return false;
        }

        string? known = KnownRelays.Find(options.KnownRelaysPath, _relay);
        if (known is null)
        {
            _firstUse = true;
            return Accept(actual);
        }

        if (Certificates.MatchesFingerprint(certificate, known)) return Accept(actual);
        Failure = $"REFUSING relay {_relay}: its certificate fingerprint changed from {known} to {actual}. " +
            $"If the relay's certificate really changed, remove its line from {options.KnownRelaysPath} or pass " +
            $"--fingerprint.";
        return false;
    }

    public void CommitFirstUse()
    {
        if (!_firstUse || Accepted is null) return;
        try
        {
            KnownRelays.Add(options.KnownRelaysPath, _relay, Accepted);
            AgentLog.TrustedOnFirstUse(logger, _relay, Accepted, options.KnownRelaysPath);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            AgentLog.CannotRememberRelay(logger, _relay, options.KnownRelaysPath, error.Message);
        }
        _firstUse = false;
    }

    private bool Accept(string fingerprint)
    {
        Accepted = fingerprint;
        return true;
    }
}
