// The data directory's admin token: made at the first start, kept across restarts, and written with
// the control plane's address into admin.json (0600) for `gray admin` on this machine. A revoked one
// is replaced at the next start.
using System.Text.Json;

namespace Gray.Relay.ControlPlane;

internal static class AdminAccess
{
    /// <summary>The name of the data directory's token in listings.</summary>
    public const string LocalTokenName = "data directory";

    /// <summary>Writes admin.json for <paramref name="url"/>, with the token it held if still valid.</summary>
    public static void Write(Registry registry, string dataDir, Uri url, string? fingerprint)
    {
        string path = Path.Combine(dataDir, AdminEndpointFile.FileName);
        string? token = Read(path)?.Token;
        if (token is null || registry.FindToken(token)?.Scope != ApiScope.Admin)
        {
            token = registry.CreateToken(ApiScope.Admin, LocalTokenName).Token;
        }

        var file = new AdminEndpointFile(LocalUrl(url), token, fingerprint);
        DataDirectory.WritePrivate(path, JsonSerializer.Serialize(file, ApiJson.Default.AdminEndpointFile));
    }

    public static AdminEndpointFile? Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), ApiJson.Default.AdminEndpointFile);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    // A wildcard address is reached on loopback from this machine.
    private static string LocalUrl(Uri url)
    {
        string host = url.Host switch
        {
            "0.0.0.0" => "127.0.0.1",
            "[::]" or "::" => "[::1]",
            _ => url.Host,
        };
        return new UriBuilder(url) { Host = host, Path = "" }.Uri.ToString().TrimEnd('/');
    }
}
