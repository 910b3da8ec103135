// The dashboard: a few static files embedded in the binary (no CDN, no build step), served at / with
// headers that keep the page to itself: its own scripts only, no framing, no referrer.
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gray.Relay.ControlPlane;

internal static class Dashboard
{
    private const string ResourcePrefix = "dashboard/";

    private const string ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    public static void Map(IEndpointRouteBuilder app)
    {
        var files = Load();
        app.MapGet("/", (HttpContext context) => Serve(context, files, "index.html")).ExcludeFromDescription();
        app.MapGet("/dashboard/{name}", (HttpContext context, string name) => Serve(context, files, name))
            .ExcludeFromDescription();
    }

    private static IResult Serve(HttpContext context, IReadOnlyDictionary<string, byte[]> files, string name)
    {
        if (!files.TryGetValue(name, out var content)) return TypedResults.NotFound();
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        return TypedResults.Bytes(content, ContentTypes.GetValueOrDefault(Path.GetExtension(name), "text/plain"));
    }

    private static Dictionary<string, byte[]> Load()
    {
        var assembly = typeof(Dashboard).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[resource[ResourcePrefix.Length..]] = copy.ToArray();
        }

        return files;
    }
}
