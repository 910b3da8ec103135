// What the hosts of the cluster test run besides gray: a client that retries on the next node, and a poller
// that reports when a node's API first shows a server.
namespace Gray.Tests.Adversarial;

internal static class ClusterScripts
{
    // Echoes SIZE random bytes through the first node that carries them all; says "flowing HOST" once bytes come
    // back, then "OK HOST", or "incomplete"/"failed" for a node and tries the next.
    public const string RetryingClient = """
        import os, socket, sys, threading
        hosts, port, size = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
        data = os.urandom(size)
        def attempt(host):
            c = socket.create_connection((host, port), timeout=10)
            c.settimeout(30)
            def send():
                try:
                    c.sendall(b"e"); c.sendall(data); c.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
            threading.Thread(target=send, daemon=True).start()
            raw, told = bytearray(), False
            while True:
                d = c.recv(65536)
                if not d: break
                raw += d
                if not told:
                    print("flowing", host, flush=True); told = True
            return bytes(raw) == data
        for host in hosts:
            try:
                if attempt(host):
                    print("OK", host, flush=True); sys.exit(0)
                print("incomplete", host, flush=True)
            except OSError as e:
                print("failed", host, e, flush=True)
        print("FAIL", flush=True); sys.exit(1)
        """;

    // Polls ADMIN_JSON's API for server ID every 50 ms; prints "seen EPOCH" (seconds) or "not seen".
    public const string ServerPoller = """
        import json, sys, time, urllib.request
        f = json.load(open(sys.argv[1])); url = f["url"] + "/api/v1/servers/" + sys.argv[2]
        request = urllib.request.Request(url, headers={"Authorization": "Bearer " + f["token"]})
        print("polling", flush=True)
        end = time.time() + float(sys.argv[3])
        while time.time() < end:
            try:
                if urllib.request.urlopen(request, timeout=2).status == 200:
                    print(f"seen {time.time():.3f}", flush=True); sys.exit(0)
            except Exception:
                pass
            time.sleep(0.05)
        print("not seen", flush=True); sys.exit(1)
        """;
}
