// The HTTP entry point's basic authentication for a server with http_auth: the credentials compared in
// constant time, wrong ones backing off per network (as wrong agent proofs do, decision 0034), and the
// Authorization header kept from the service, which has its own.
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gray.Relay.HostRouting;

internal sealed class BasicAuthentication(LoginBackoff backoff)
{
    private const string Challenge = "Basic realm=\"gray\", charset=\"UTF-8\"";

    /// <summary>True if the request may go on (and its Authorization header is removed); otherwise the
    /// answer (401, or 429 while the network is blocked) is written.</summary>
    public async Task<bool> AdmitAsync(HttpContext context, HttpCredentials credentials, IPAddress address)
    {
        if (backoff.IsBlocked(address, out var retryAfter))
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds))
                .ToString(System.Globalization.CultureInfo.InvariantCulture);
            return false;
        }

        if (Matches(context.Request.Headers.Authorization.ToString(), credentials))
        {
            backoff.Succeeded(address);
            context.Request.Headers.Authorization = default;
            return true;
        }

        if (context.Request.Headers.Authorization.Count > 0) backoff.Failed(address); // a wrong try, not a first ask
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = Challenge;
        await context.Response.WriteAsync("Authentication required.\n").ConfigureAwait(false);
        return false;
    }

    // Hashes of the same length compared in constant time: the time says nothing about the password.
    private static bool Matches(string header, HttpCredentials credentials)
    {
        const string Scheme = "Basic ";
        byte[] given;
        try
        {
            given = header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
                ? Convert.FromBase64String(header[Scheme.Length..].Trim())
                : [];
        }
        catch (FormatException)
        {
            given = [];
        }

        byte[] expected = Encoding.UTF8.GetBytes($"{credentials.User}:{credentials.Password}");
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(given), SHA256.HashData(expected));
    }
}
