// What tests on network namespaces share: the service and client scripts each host runs, and the fact
// that skips (with the reason) where namespaces cannot be made.
using System.Diagnostics;

namespace Gray.Tests.Adversarial;

internal static class HostScripts
{
    // First byte: "e" echoes everything; "h" answers the SHA-256 of the rest once the client's FIN comes.
    public const string EchoService = """
        import hashlib, socket, threading
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 7007)); s.listen(64)
        def serve(c):
            mode, h = c.recv(1), hashlib.sha256()
            while True:
                d = c.recv(65536)
                if not d: break
                if mode == b"e": c.sendall(d)
                else: h.update(d)
            if mode != b"e": c.sendall(h.digest())
            c.shutdown(socket.SHUT_WR)
        while True:
            c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
        """;

    public const string Client = """
        import hashlib, os, socket, sys, threading
        host, port, size, echo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "echo"
        data = os.urandom(size)
        c = socket.create_connection((host, port), timeout=240)
        def send():
            c.sendall(b"e" if echo else b"h"); c.sendall(data); c.shutdown(socket.SHUT_WR)
        threading.Thread(target=send, daemon=True).start()
        raw = bytearray()
        while True:
            d = c.recv(65536)
            if not d: break
            raw += d
        if echo and bytes(raw) == data: print("OK")
        elif not echo and bytes(raw) == hashlib.sha256(data).digest(): print("OK")
        elif echo:
            # Where the echo first differs, to tell loss, reordering and corruption apart.
            at = next((i for i in range(min(len(raw), size)) if raw[i] != data[i]), min(len(raw), size))
            moved = data.find(bytes(raw[at:at + 16])) if at < len(raw) else -1
            print(f"got {len(raw)} bytes back, expected an echo of {size}; first difference at {at}; "
                  f"the bytes there come from offset {moved} of what was sent")
        else: print(f"got {len(raw)} bytes back, expected a 32-byte hash")
        """;
}

/// <summary>A fact that needs network namespaces (root, iproute2); skipped with the reason otherwise.</summary>
public sealed class NamespacesFactAttribute : FactAttribute
{
    public NamespacesFactAttribute()
    {
        if (Probe.NamespacesMissing() is { } reason) Skip = reason;
    }
}

/// <summary>The same for a theory.</summary>
public sealed class NamespacesTheoryAttribute : TheoryAttribute
{
    public NamespacesTheoryAttribute()
    {
        if (Probe.NamespacesMissing() is { } reason) Skip = reason;
    }
}

internal static class Probe
{
    private static readonly Lazy<string?> s_namespaces = new(() =>
        Run("ip", "netns", "add", "gray-probe") == 0 && Run("ip", "netns", "delete", "gray-probe") == 0
            ? null
            : "network namespaces cannot be made here (needs root and iproute2)");

    public static string? NamespacesMissing() => s_namespaces.Value;

    private static int Run(string program, params string[] args)
    {
        try
        {
            var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var arg in args) start.ArgumentList.Add(arg);
            using var process = Process.Start(start)!;
            process.WaitForExit(10_000);
            return process.HasExited ? process.ExitCode : -1;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
