// The control plane's bearer tokens: only a SHA-256 of each is stored, so that a copy of the registry
// lets nobody in. Looked up from memory by that hash (decision 0035).
using System.Security.Cryptography;
using System.Text;

namespace Gray.Relay;

/// <summary>What a control-plane token may do.</summary>
public enum ApiScope
{
    /// <summary>Status, metrics, events: nothing that changes the relay.</summary>
    Read,

    /// <summary>Everything: add, delete, drain, kick, tokens, shutdown.</summary>
    Admin,
}

/// <summary>A control-plane token as listings show it: never the token itself.</summary>
public sealed record ApiTokenInfo(string Id, ApiScope Scope, string Name, DateTimeOffset CreatedAt);

public sealed partial class Registry
{
    /// <summary>Every token starts so: secret scanners and people can tell what it is.</summary>
    public const string TokenPrefix = "gray_";

    /// <summary>Random bytes in a token.</summary>
    private const int TokenBytes = 32;

    /// <summary>Characters of a token's hash that name it (for listings and revoke).</summary>
    private const int TokenIdChars = 12;

    /// <summary>Longest token text ever checked; longer ones are refused unread.</summary>
    public const int MaxTokenChars = 128;

    private volatile IReadOnlyDictionary<string, ApiTokenInfo> _tokens = new Dictionary<string, ApiTokenInfo>();

    /// <summary>Creates a token; the returned text is shown once and never stored.</summary>
    public (ApiTokenInfo Info, string Token) CreateToken(ApiScope scope, string name)
    {
        if (name.Length is 0 or > 64 || name.Any(char.IsControl))
        {
            throw new RegistryException("a token name is 1 to 64 printable characters");
        }

        string token = TokenPrefix + Base64Url(RandomNumberGenerator.GetBytes(TokenBytes));
        string hash = Hash(token);
        var info = new ApiTokenInfo(hash[..TokenIdChars], scope, name, DateTimeOffset.UtcNow);
        Write((connection, transaction) => RegistryStore.Execute(connection,
            "INSERT INTO tokens (hash, id, scope, name, created_at) VALUES (@hash, @id, @scope, @name, @created)",
            transaction, ("@hash", hash), ("@id", info.Id), ("@scope", ScopeName(scope)), ("@name", name),
            ("@created", info.CreatedAt.ToString("O"))));

        return (info, token);
    }

    /// <summary>Removes a token by its ID; false if there is none.</summary>
    public bool RevokeToken(string id) => Write((connection, transaction) =>
        RegistryStore.Execute(connection, "DELETE FROM tokens WHERE id = @id", transaction, ("@id", id)) > 0);

    public IReadOnlyList<ApiTokenInfo> ListTokens() => [.. _tokens.Values.OrderBy(t => t.CreatedAt)];

    /// <summary>The token's entry, or null; from memory, with no database access.</summary>
    public ApiTokenInfo? FindToken(string token) =>
        token.Length is > 0 and <= MaxTokenChars && token.StartsWith(TokenPrefix, StringComparison.Ordinal)
            ? _tokens.GetValueOrDefault(Hash(token))
            : null;

    public static string ScopeName(ApiScope scope) => scope == ApiScope.Admin ? "admin" : "read";

    public static ApiScope? ParseScope(string text) => text switch
    {
        "admin" => ApiScope.Admin,
        "read" => ApiScope.Read,
        _ => null,
    };

    private static string Hash(string token) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private void LoadTokens(System.Data.Common.DbConnection connection)
    {
        using var command = RegistryStore.Command(connection, "SELECT hash, id, scope, name, created_at FROM tokens");
        using var reader = command.ExecuteReader();
        var tokens = new Dictionary<string, ApiTokenInfo>(StringComparer.Ordinal);
        while (reader.Read())
        {
            tokens[reader.GetString(0)] = new ApiTokenInfo(reader.GetString(1),
                ParseScope(reader.GetString(2)) ?? ApiScope.Read, reader.GetString(3),
                DateTimeOffset.Parse(reader.GetString(4), System.Globalization.CultureInfo.InvariantCulture));
        }

        _tokens = tokens;
    }
}
