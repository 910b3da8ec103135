// The relay's local admin endpoint on loopback: token-checked JSON lines, so that `gray admin` can
// manage a relay that runs under systemd.
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gray.Net;
using Gray.Relay;

namespace Gray.Relay.Admin;

internal sealed class AdminServer(RelayCommands commands, TcpServerOptions options)
    : TcpServer(new IPEndPoint(IPAddress.Loopback, 0), options)
{
    /// <summary>Deadline for a whole admin request to arrive.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Admin connections that have not shown the token yet; past it, the oldest is closed.</summary>
    public const int MaxUnauthenticated = 16;

    public string Token { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public RelayCommands Commands => commands;

    /// <summary>
    /// Its own budget, apart from the relay's connections: idle connections, however many, only push out
    /// each other, and the administrator's request gets in.
    /// </summary>
    public PendingSessions Unauthenticated { get; } =
        new(MaxUnauthenticated, MaxUnauthenticated, AddressPrefix.Exact);

    protected override TcpSession CreateSession() => new AdminSession(this);

    protected override void OnSessionAdmitted(TcpSession session, IPEndPoint remoteEndPoint) =>
        Unauthenticated.Admit(session, remoteEndPoint.Address);

    protected override void OnSessionEnded(TcpSession session) => Unauthenticated.Release(session);
}

internal sealed class AdminSession(AdminServer server) : TcpSession(server)
{
    protected override async Task RunAsync(CancellationToken cancellationToken)
    {
        AdminResponse response;
        bool shutdownAfterReply = false;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(AdminServer.RequestTimeout);
            string line = await ReadLineAsync(deadline.Token).ConfigureAwait(false);
            var request = JsonSerializer.Deserialize(line, AdminJson.Context.AdminRequest)
                ?? throw new FormatException("empty request");
            bool valid = IsTokenValid(request.Token);
            if (valid) server.Unauthenticated.Release(this);
            response = valid
                // off the socket thread: SQLite writes block
                ? await Task.Run(() => ExecuteAsync(request), cancellationToken).ConfigureAwait(false)
                : new AdminResponse(false, "bad admin token");
            shutdownAfterReply = response.Ok && request.Command == "shutdown";
        }
        catch (Exception error) when (error is JsonException or FormatException or Relay.RegistryException)
        {
            response = new AdminResponse(false, error.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return;
        }

        await SendAsync(
            Encoding.UTF8.GetBytes(JsonSerializer.Serialize(response, AdminJson.Context.AdminResponse) + "\n"),
            cancellationToken)
            .ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (shutdownAfterReply) server.Commands.Shutdown(); // after the reply, or stopping would cut it off
    }

    private bool IsTokenValid(string? token) =>
        token is not null
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token),
                Encoding.UTF8.GetBytes(server.Token));

    private async Task<AdminResponse> ExecuteAsync(AdminRequest request)
    {
        var commands = server.Commands;
        switch (request.Command)
        {
            case "add":
                return new AdminResponse(true,
                    Server: commands.Add(Required(request.Id), request.ClientPort, request.DataPort));
            case "show":
                return new AdminResponse(true, Servers: commands.Show(), Limits: commands.Limits());
            case "drain":
                commands.Drain(request.Id);
                return new AdminResponse(true);
            case "resume":
                commands.Resume(request.Id);
                return new AdminResponse(true);
            case "kick":
                return new AdminResponse(true,
                    Count: commands.Kick(Required(request.Id),
                        request.Client ?? throw new FormatException("kick needs --client IP")));
            case "delete":
                string id = Required(request.Id);
                return await commands.DeleteAsync(id).ConfigureAwait(false)
                    ? new AdminResponse(true)
                    : new AdminResponse(false, $"no server '{id}'");
            case "shutdown":
                return new AdminResponse(true);
            case "fingerprint":
                return new AdminResponse(true, Fingerprint: commands.Fingerprint);
            default:
                return new AdminResponse(false, $"unknown command '{request.Command}'");
        }
    }

    private static string Required(string? id) => id ?? throw new FormatException("this command needs an id");

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[4096];
        while (true)
        {
            int read = await ReceiveAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (read == 0) break;
            int newline = Array.IndexOf(chunk, (byte)'\n', 0, read);
            buffer.Write(chunk, 0, newline >= 0 ? newline : read);
            if (newline >= 0) break;
            if (buffer.Length > AdminJson.MaxLineBytes) throw new FormatException("request too long");
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
