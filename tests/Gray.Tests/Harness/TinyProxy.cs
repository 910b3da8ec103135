// Debian's tinyproxy as the HTTP proxy of an office network: it allows CONNECT to the listed ports only.
namespace Gray.Tests.Harness;

public sealed class TinyProxy(GrayProcess process, int port) : ServiceProgram(process, port)
{
    public const string Program = "/usr/bin/tinyproxy";

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>A proxy on loopback that tunnels CONNECT only to <paramref name="connectPorts"/>.</summary>
    public static async Task<TinyProxy> StartAsync(params int[] connectPorts)
    {
        int port = Ports.Free();
        string config = Path.Combine(Directory.CreateTempSubdirectory("gray-tinyproxy-").FullName, "tinyproxy.conf");
        await File.WriteAllLinesAsync(config,
        [
            $"Port {port}", "Listen 127.0.0.1", "Timeout 120", "MaxClients 200", "Allow 127.0.0.1",
            .. connectPorts.Select(p => $"ConnectPort {p}"),
        ]);
        var process = GrayProcess.StartProgram(Program, ["-d", "-c", config]);
        await process.WaitForLineAsync(l => l.Contains("Accepting connections"), "tinyproxy listening");
        return new TinyProxy(process, port);
    }
}
