// `gray admin`'s side: finds the relay through admin.json in the data directory and sends one request.
using System.Net;
using System.Text;
using System.Text.Json;
using Gray.Net;
using Gray.Relay.Admin;

namespace Gray.Cli;

public sealed class AdminException(string message) : Exception(message);

public static class AdminClient
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    public static async Task<AdminResponse> SendAsync(string dataDir, AdminRequest request,
        CancellationToken cancellationToken)
    {
        string path = Path.Combine(Path.GetFullPath(dataDir), AdminEndpointFile.FileName);
        AdminEndpointFile endpoint;
        try
        {
            endpoint = JsonSerializer.Deserialize(await File.ReadAllTextAsync(path, cancellationToken),
                AdminJson.Context.AdminEndpointFile)
                ?? throw new AdminException($"{path} is empty");
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new AdminException($"no running relay found: cannot read {path} ({error.Message}); is the relay " +
                $"running with --data-dir {dataDir}?");
        }

        var connection = new LineClient(IPEndPoint.Parse(endpoint.Endpoint));
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RequestTimeout);
        try
        {
            await connection.ConnectAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException error)
        {
            throw new AdminException($"the relay's admin endpoint {endpoint.Endpoint} does not answer " +
                $"({error.Message}); is the relay running?");
        }

        var line = JsonSerializer.Serialize(request with { Token = endpoint.Token }, AdminJson.Context.AdminRequest)
            + "\n";
        await connection.SendAsync(Encoding.UTF8.GetBytes(line), deadline.Token).ConfigureAwait(false);
        string reply = await connection.Reply.WaitAsync(deadline.Token).ConfigureAwait(false);
        await connection.DisconnectAsync().ConfigureAwait(false);
        return JsonSerializer.Deserialize(reply, AdminJson.Context.AdminResponse)
            ?? throw new AdminException("empty reply from the relay");
    }

    /// <summary>Collects bytes until the first newline.</summary>
    private sealed class LineClient(EndPoint server) : TcpClient(server)
    {
        private readonly MemoryStream _received = new();
        private readonly TaskCompletionSource<string> _reply = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<string> Reply => _reply.Task;

        protected override void OnReceived(ReadOnlySpan<byte> data)
        {
            int newline = data.IndexOf((byte)'\n');
            _received.Write(newline >= 0 ? data[..newline] : data);
            if (newline >= 0) _reply.TrySetResult(Encoding.UTF8.GetString(_received.ToArray()));
            else if (_received.Length > AdminJson.MaxLineBytes)
            {
                _reply.TrySetException(new AdminException("reply too long"));
            }
        }

        protected override void OnDisconnected() =>
            _reply.TrySetException(new AdminException("the relay closed the admin connection without a reply"));
    }
}
