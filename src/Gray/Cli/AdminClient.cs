// `gray admin`'s side of the control plane: finds the relay's URL and token in the data directory's
// admin.json and calls the HTTP API, pinning the certificate when the endpoint serves TLS.
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Gray.Net;
using Gray.Relay.ControlPlane;

namespace Gray.Cli;

/// <summary>The relay cannot be reached, or answered nonsense (exit 1).</summary>
public sealed class AdminException(string message) : Exception(message);

/// <summary>The relay refused the request and said why (exit 2).</summary>
public sealed class AdminRefusedException(string message) : Exception(message);

public sealed class AdminClient : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;

    private AdminClient(HttpClient http) => _http = http;

    public static AdminClient Open(string dataDir)
    {
        string path = Path.Combine(Path.GetFullPath(dataDir), AdminEndpointFile.FileName);
        AdminEndpointFile endpoint;
        try
        {
            endpoint = JsonSerializer.Deserialize(File.ReadAllText(path), ApiJson.Default.AdminEndpointFile)
                ?? throw new AdminException($"{path} is empty");
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new AdminException($"no running relay found: cannot read {path} ({error.Message}); is the relay " +
                $"running with --data-dir {dataDir}?");
        }

        var handler = new SocketsHttpHandler();
        if (endpoint.Fingerprint is { } fingerprint)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = Certificates.PinSha256(fingerprint);
        }

        var http = new HttpClient(handler) { BaseAddress = new Uri(endpoint.Url), Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new("Bearer", endpoint.Token);
        return new AdminClient(http);
    }

    public Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, type, cancellationToken);

    public async Task<T> SendAsync<T>(HttpMethod method, string path, JsonContent? body, JsonTypeInfo<T> type,
        CancellationToken cancellationToken)
    {
        using var response = await CallAsync(method, path, body, cancellationToken).ConfigureAwait(false);
        try
        {
            return await response.Content.ReadFromJsonAsync(type, cancellationToken).ConfigureAwait(false)
                ?? throw new AdminException("empty answer from the relay");
        }
        catch (JsonException error)
        {
            throw new AdminException($"the relay's answer is not what this gray expects: {error.Message}");
        }
    }

    /// <summary>A call whose answer has no body (204, 202).</summary>
    public async Task SendAsync(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        using var response = await CallAsync(method, path, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The event stream's lines as they come (until the relay ends it or the token is canceled).</summary>
    public async IAsyncEnumerable<string> EventLinesAsync(
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var response = await CallAsync(HttpMethod.Get, "/api/v1/events", null, cancellationToken,
            HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken)
            .ConfigureAwait(false));
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line) yield return line;
    }

    private async Task<HttpResponseMessage> CallAsync(HttpMethod method, string path, JsonContent? body,
        CancellationToken cancellationToken, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (completion == HttpCompletionOption.ResponseContentRead) deadline.CancelAfter(RequestTimeout);
        HttpResponseMessage response;
        try
        {
            using var request = new HttpRequestMessage(method, path) { Content = body };
            response = await _http.SendAsync(request, completion, deadline.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException error)
        {
            throw new AdminException($"the relay's control plane {_http.BaseAddress} does not answer " +
                $"({error.Message}); is the relay running?");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AdminException($"the relay's control plane {_http.BaseAddress} did not answer in time");
        }

        if (response.IsSuccessStatusCode) return response;
        using (response)
        {
            string reason = $"HTTP {(int)response.StatusCode}";
            try
            {
                if (await response.Content.ReadFromJsonAsync(ApiJson.Default.ApiError, cancellationToken)
                    .ConfigureAwait(false) is { } error)
                {
                    reason = error.Error;
                }
            }
            catch (Exception error) when (error is JsonException or NotSupportedException)
            {
            }

            throw new AdminRefusedException(reason);
        }
    }

    public void Dispose() => _http.Dispose();
}
