// Debian's haproxy as a service that takes PROXY protocol headers (accept-proxy) in front of a backend,
// logging each connection's client address and port, as it took them from the header, on standard output.
namespace Gray.Tests.Harness;

public sealed class Haproxy(GrayProcess process, int port) : ServiceProgram(process, port)
{
    public const string Program = "/usr/sbin/haproxy";

    /// <summary>Listens on loopback with accept-proxy and forwards to <paramref name="backendPort"/>.</summary>
    public static async Task<Haproxy> StartAsync(int backendPort)
    {
        int port = Ports.Free();
        string config = Path.Combine(Directory.CreateTempSubdirectory("gray-haproxy-").FullName, "haproxy.cfg");
        await File.WriteAllLinesAsync(config,
        [
            "global", "    log stdout format raw local0 info",
            "defaults", "    mode tcp", "    log global", "    timeout connect 5s", "    timeout client 30s",
            "    timeout server 30s",
            "frontend service", $"    bind 127.0.0.1:{port} accept-proxy", "    log-format \"client %ci %cp\"",
            "    default_backend echo",
            "backend echo", $"    server echo 127.0.0.1:{backendPort}",
        ]);
        var process = GrayProcess.StartProgram(Program, ["-db", "-f", config]);
        await Wait.UntilAsync(() => !TestRelay.IsFree(port), "haproxy listening");
        return new Haproxy(process, port);
    }

    /// <summary>Waits for the line haproxy logs when a connection from this client address and port ends.</summary>
    public Task<string> WaitForClientAsync(System.Net.IPEndPoint client) =>
        Process.WaitForLineAsync(l => l.Trim() == $"client {client.Address} {client.Port}",
            $"haproxy's log of {client}");
}
