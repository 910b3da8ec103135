// Bearer tokens for the control plane: each endpoint names the scope it needs (RequiresScope); a
// request without it gets 401, one with a read token on an admin endpoint 403. Wrong tokens back off
// per address, as wrong agent proofs do (decision 0035).
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Gray.Relay.ControlPlane;

/// <summary>Endpoint metadata: the scope a request needs; <paramref name="openAs"/> names the http.open
/// entry that serves it without a token.</summary>
internal sealed class RequiresScope(ApiScope scope, string? openAs = null)
{
    public ApiScope Scope => scope;

    public string? OpenAs => openAs;
}

internal sealed class TokenAuthentication(RequestDelegate next, RelayCommands commands, ControlPlaneInfo info)
{
    private const string Scheme = "Bearer ";

    /// <summary>The scope a request was let in with, in HttpContext.Items.</summary>
    public const string ScopeItem = "gray.scope";

    public Task InvokeAsync(HttpContext context)
    {
        var required = context.GetEndpoint()?.Metadata.GetMetadata<RequiresScope>();
        if (required is null) return next(context);
        var relay = commands.Relay;
        if (required.OpenAs is { } name && relay.Options.HttpOpen.Contains(name)) return next(context);

        var address = context.Connection.RemoteIpAddress ?? System.Net.IPAddress.None;
        if (info.Backoff.IsBlocked(address, out var retryAfter))
        {
            context.Response.Headers.RetryAfter =
                Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return Refuse(context, StatusCodes.Status429TooManyRequests, "too many wrong tokens; try again later");
        }

        string header = context.Request.Headers.Authorization.ToString();
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return Refuse(context, StatusCodes.Status401Unauthorized,
                "this needs a token (Authorization: Bearer TOKEN)");
        }

        var token = relay.Registry.FindToken(header[Scheme.Length..].Trim());
        if (token is null)
        {
            info.Backoff.Failed(address);
            return Refuse(context, StatusCodes.Status401Unauthorized, "unknown token");
        }

        info.Backoff.Succeeded(address);
        if (required.Scope == ApiScope.Admin && token.Scope != ApiScope.Admin)
        {
            return Refuse(context, StatusCodes.Status403Forbidden, "this needs an admin token");
        }

        context.Items[ScopeItem] = token.Scope;
        return next(context);
    }

    private static Task Refuse(HttpContext context, int status, string error)
    {
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"gray\"";
        }
        return context.Response.WriteAsJsonAsync(new ApiError(error), ApiJson.Default.ApiError);
    }
}
