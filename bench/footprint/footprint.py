#!/usr/bin/env python3
# Measures the relay's (and agent's) resident memory per idle tunneled connection: starts a real
# relay, an echo target and an agent on 127.0.0.1, opens N idle clients (each checked with one echo
# round trip, so it is really paired) and prints VmRSS at each checkpoint.
#
#   python3 bench/footprint/footprint.py --gray /tmp/fp-art/bin/Gray/release/gray.dll [--plain-data]
#       [--checkpoints 0,1000,9000] [--env KEY=VALUE ...] [--smaps]
import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SETTLE_SECONDS = 5.0  # after each checkpoint's connections, before reading RSS
BATCH = 200  # clients connected concurrently


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def smaps_summary(pid, top=12):
    """Largest mappings by Rss, grouped by name (anonymous ones as [anon])."""
    sizes = {}
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split()
                name = parts[5] if len(parts) > 5 else "[anon]"
                name = os.path.basename(name) if name.startswith("/") else name
            elif line.startswith("Rss:"):
                sizes[name] = sizes.get(name, 0) + int(line.split()[1])
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:top]


async def echo_main(port):
    """A trivial echo target (its own process: descriptors are per process)."""
    async def handle(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    await server.serve_forever()


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


def command(gray):
    """A build's gray.dll runs under dotnet; a published native binary runs by itself."""
    return ["dotnet", gray] if gray.endswith(".dll") else [gray]


def start(gray, args, env, log):
    return subprocess.Popen([*command(gray), *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env)


def wait_for(path, pattern, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        with open(path) as f:
            m = re.search(pattern, f.read())
        if m:
            return m
        time.sleep(0.1)
    raise TimeoutError(f"{pattern!r} not in {path}:\n" + open(path).read())


async def open_pairs(port, count, into):
    async def one():
        for attempt in range(50):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"\x01")
                await writer.drain()
                got = await asyncio.wait_for(reader.readexactly(1), 30)
                assert got == b"\x01"
                into.append((reader, writer))
                return
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
                await asyncio.sleep(0.2)
        raise RuntimeError("a client never paired")

    done = 0
    while done < count:
        n = min(BATCH, count - done)
        await asyncio.gather(*(one() for _ in range(n)))
        done += n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gray", default="/tmp/fp-art/bin/Gray/release/gray.dll")
    ap.add_argument("--plain-data", action="store_true")
    ap.add_argument("--pooled", action="store_true", help="pooled data connections (the agent multiplexes by default)")
    ap.add_argument("--checkpoints", default="0,1000,9000")
    ap.add_argument("--pool", default="64")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the relay")
    ap.add_argument("--agent-env", action="append", default=[], help="KEY=VALUE for the agent")
    ap.add_argument("--smaps", action="store_true", help="print the relay's largest mappings at each checkpoint")
    ap.add_argument("--probe", action="store_true",
                    help="load bench/footprint/Probe into the relay and print its managed heap (then a full GC) at each checkpoint")
    ap.add_argument("--base-port", type=int, default=32100)  # below the ephemeral range
    ap.add_argument("--echo", type=int, help="(internal) run only the echo target on this port")
    opts = ap.parse_args()
    if opts.echo:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        asyncio.run(echo_main(opts.echo))
        return

    # Each process may open only the hard limit (20,000 here, and root cannot raise it in this container):
    # the relay holds two descriptors per pair, so pairs stay under ~9,900. The echo target runs apart.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tmp = tempfile.mkdtemp(prefix="gray-fp-")
    data = os.path.join(tmp, "data")
    config = os.path.join(tmp, "relay.yaml")
    with open(config, "w") as f:
        f.write("max_connections: 30000\nmax_client_connections_per_ip: 30000\nmax_clients_per_server: 30000\n"
                "max_waiting_clients: 10000\nclient_wait_timeout: 60s\nmax_pending_per_ip: 1000\n"
                f"allow_plain_data: {'true' if opts.plain_data else 'false'}\nlog_level: warning\n")
    env = dict(os.environ, DOTNET_CLI_TELEMETRY_OPTOUT="1")
    relay_env = dict(env, **dict(kv.split("=", 1) for kv in opts.env))
    probe = os.path.join(tmp, "probe.txt")
    if opts.probe:
        hook = os.path.join(os.path.dirname(opts.gray), "..", "..", "Probe", "release", "Gray.FootprintProbe.dll")
        relay_env.update(DOTNET_STARTUP_HOOKS=os.path.abspath(hook), GRAY_PROBE_FILE=probe)
    agent_env = dict(env, GRAY_KNOWN_RELAYS=os.path.join(tmp, "known"), **dict(kv.split("=", 1) for kv in opts.agent_env))

    procs = []
    try:
        control = opts.base_port
        relay_log = open(os.path.join(tmp, "relay.log"), "w")
        relay = start(opts.gray, ["relay", "--config", config, "--data-dir", data, "--control", f"127.0.0.1:{control}",
                                  "--ports", f"{control + 1}-{control + 19}", "--no-console", "--max-connections", "30000"],
                      relay_env, relay_log)
        procs.append(relay)
        fingerprint = wait_for(relay_log.name, r"gray relay: control .* (\S+)\n").group(1)
        time.sleep(2)
        rss_start = rss_kib(relay.pid)
        added = json.loads(subprocess.check_output([*command(opts.gray), "admin", "add", "fp", "--json", "--data-dir", data], env=env))
        echo_port = opts.base_port + 20
        echo = subprocess.Popen([sys.executable, __file__, "--echo", str(echo_port)])
        procs.append(echo)
        wait_port(echo_port)
        agent_log = open(os.path.join(tmp, "agent.log"), "w")
        agent = start(opts.gray, ["agent", "--relay", f"127.0.0.1:{control}", "--id", "fp", "--secret", added["secret"],
                                  "--target", f"127.0.0.1:{echo_port}", "--pool", opts.pool, "--fingerprint", fingerprint,
                                  *(["--plain-data"] if opts.plain_data else []),
                                  *(["--mux", "false"] if opts.pooled else [])], agent_env, agent_log)
        procs.append(agent)
        wait_for(agent_log.name, r"is public on relay")
        time.sleep(SETTLE_SECONDS)

        mode = "plain" if opts.plain_data else "tls"
        print(f"mode={mode} env={opts.env} relay RSS 2 s after start {rss_start / 1024:.1f} MiB; "
              f"with the agent's pool {rss_kib(relay.pid) / 1024:.1f} MiB", flush=True)
        clients = []
        results = []
        loop = asyncio.new_event_loop()
        base = None
        for target in [int(x) for x in opts.checkpoints.split(",")]:
            loop.run_until_complete(open_pairs(added["clientPort"], target - len(clients), clients))
            time.sleep(SETTLE_SECONDS)
            r, a = rss_kib(relay.pid), rss_kib(agent.pid)
            if base is None:
                base = (target, r, a)
            per_r = (r - base[1]) * 1024 / max(1, target - base[0])
            per_a = (a - base[2]) * 1024 / max(1, target - base[0])
            line = (f"{mode} pairs={target:6d} relay={r / 1024:8.1f} MiB agent={a / 1024:8.1f} MiB  "
                    f"per pair since {base[0]}: relay {per_r:8.0f} B, agent {per_a:8.0f} B")
            print(line, flush=True)
            results.append(line)
            if opts.probe:
                open(probe + ".req", "w").close()
                while os.path.exists(probe + ".req"):
                    time.sleep(0.1)
                print(open(probe).read(), end="")
                print(f"    relay RSS after the full GC: {rss_kib(relay.pid) / 1024:.1f} MiB", flush=True)
            if opts.smaps:
                for name, kib in smaps_summary(relay.pid):
                    print(f"    {kib / 1024:8.1f} MiB  {name}")
        for _, w in clients:
            w.close()
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
