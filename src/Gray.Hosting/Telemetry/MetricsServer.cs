// GET /metrics over HTTP/1.1, on a Gray.Net server (loopback by default): one request per connection.
using System.Net;
using System.Text;
using Gray.Net;

namespace Gray.Hosting.Telemetry;

public sealed class MetricsServer(IPEndPoint endPoint, PrometheusExporter exporter, ConnectionOptions? defaults = null)
    : TcpServer(endPoint, new TcpServerOptions { MaxSessions = 64, LoggerFactory = defaults?.LoggerFactory })
{
    /// <summary>Longest request head we read, in bytes, and how long we wait for it.</summary>
    private const int MaxRequestBytes = 8 * 1024;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    public PrometheusExporter Exporter => exporter;

    protected override TcpSession CreateSession() => new MetricsSession(this);

    private sealed class MetricsSession(MetricsServer server) : TcpSession(server)
    {
        protected override async Task RunAsync(CancellationToken cancellationToken)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(RequestTimeout);
            var head = new byte[MaxRequestBytes];
            int length = 0;
            try
            {
                while (head.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
                {
                    if (length == head.Length) return; // too long: close
                    int read = await ReceiveAsync(head.AsMemory(length), deadline.Token).ConfigureAwait(false);
                    if (read == 0) return;
                    length += read;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return;
            }

            string requestLine = Encoding.ASCII.GetString(head, 0, head.AsSpan(0, length).IndexOf("\r\n"u8));
            string[] parts = requestLine.Split(' ');
            (string status, string body, string type) = parts is ["GET", "/metrics", ..]
                ? ("200 OK", server.Exporter.Scrape(), "text/plain; version=0.0.4; charset=utf-8")
                : ("404 Not Found", "try /metrics\n", "text/plain; charset=utf-8");
            byte[] bodyBytes = Encoding.UTF8.GetBytes(body);
            string response = $"HTTP/1.1 {status}\r\nContent-Type: {type}\r\nContent-Length: " +
                $"{bodyBytes.Length}\r\nConnection: close\r\n\r\n";
            await SendAsync(Encoding.ASCII.GetBytes(response), cancellationToken).ConfigureAwait(false);
            await SendAsync(bodyBytes, cancellationToken).ConfigureAwait(false);
            await ShutdownSendAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
