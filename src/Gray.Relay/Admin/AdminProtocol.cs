// The local admin endpoint's protocol: one JSON request line, one JSON response line, with the
// token from the data directory's admin.json.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gray.Relay.Admin;

public sealed record AdminRequest(string Token, string Command, string? Id = null, int? ClientPort = null,
    int? DataPort = null, string? Client = null);

public sealed record AdminResponse(bool Ok, string? Error = null, ServerView? Server = null,
    IReadOnlyList<ServerView>? Servers = null, string? Fingerprint = null, LimitsView? Limits = null,
    int? Count = null);

/// <summary>The relay-wide limits and deadlines, as `gray admin show` reports them.</summary>
public sealed record LimitsView(
    int MaxConnections,
    int Connections,
    int MaxClientConnectionsPerIp,
    int MaxPendingPerIp,
    int MaxClients,
    int Clients,
    int MaxClientsPerServer,
    int MaxPending,
    int Pending,
    int AgentReserve,
    string AddressPrefix,
    string HandshakeTimeout,
    string HelloTimeout,
    string OtpTimeout,
    string ClientWaitTimeout,
    int MaxWaitingClients,
    bool DrainAll);

/// <summary>One server's rules, as `gray admin show` reports them.</summary>
public sealed record RulesView(int MaxPool, IReadOnlyList<string> ClientAllow, IReadOnlyList<string> ClientDeny,
    string PairIdleTimeout);

/// <summary>A registered server as admin commands show it.</summary>
public sealed record ServerView(
    string Id,
    int ClientPort,
    int DataPort,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Secret = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Connected = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? PoolReady = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? ActivePairs = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Draining = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RulesView? Rules = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? BytesIn = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? BytesOut = null);

/// <summary>Where the running relay's admin endpoint is: written by the relay, read by `gray admin`.</summary>
public sealed record AdminEndpointFile(string Endpoint, string Token)
{
    public const string FileName = "admin.json";

    /// <summary>Characters of an IP endpoint or a hex token: none of them needs escaping in a JSON string.</summary>
    private static readonly System.Buffers.SearchValues<char> Plain =
        System.Buffers.SearchValues.Create("0123456789abcdefABCDEF.:[]%");

    /// <summary>
    /// The file's text, as <see cref="AdminJson.Context"/> would write it. The relay writes it at every
    /// start; System.Text.Json's serializer would cost the idle relay about 3 MiB with reflection, 0.7 MiB
    /// with the generated context (the published binary, measured).
    /// An endpoint and a hex token need no escaping; anything else goes through the serializer.
    /// </summary>
    public string ToJson() =>
        NeedsNoEscaping(Endpoint) && NeedsNoEscaping(Token)
            ? $$"""{"endpoint":"{{Endpoint}}","token":"{{Token}}"}"""
            : JsonSerializer.Serialize(this, AdminJson.Context.AdminEndpointFile);

    private static bool NeedsNoEscaping(string value) =>
        !value.AsSpan().ContainsAnyExcept(Plain);
}

/// <summary>`gray admin add --json`: the new server, with the secret shown once.</summary>
public sealed record AddedServerJson(string Id, int ClientPort, int DataPort, string? Secret);

/// <summary>One entry of `gray admin show --json`.</summary>
public sealed record ServerListEntryJson(string Id, int ClientPort, int DataPort, bool Connected, int PoolReady,
    int ActivePairs, bool Draining, RulesView? Rules, LimitsView? Limits);

public static class AdminJson
{
    /// <summary>Longest request or response line, in bytes.</summary>
    public const int MaxLineBytes = 1024 * 1024;

    /// <summary>
    /// Every admin JSON type, serialized by generated code (no reflection: the published binary is trimmed).
    /// </summary>
    public static AdminJsonContext Context => AdminJsonContext.Default;
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AdminRequest))]
[JsonSerializable(typeof(AdminResponse))]
[JsonSerializable(typeof(AdminEndpointFile))]
[JsonSerializable(typeof(AddedServerJson))]
[JsonSerializable(typeof(List<ServerListEntryJson>))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
