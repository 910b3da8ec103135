#!/usr/bin/env python3
# A lossy, slow link in user space, for tests where the kernel has no tc netem: two TUN devices,
# each later moved into its own network namespace, and this process forwarding IP packets between
# them. Packets from the second device to the first are delayed and randomly dropped (as netem on
# the agent's interface would do); SIGUSR1 cuts the link both ways (100% loss).
# Usage: lossy_link.py DEV_A DEV_B DELAY_MS LOSS_PERCENT   (prints "ready" once both devices exist)
import fcntl, heapq, os, random, select, signal, struct, sys, time

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
MAX_PACKET = 65536

def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd

dev_a, dev_b, delay, loss = sys.argv[1], sys.argv[2], float(sys.argv[3]) / 1000, float(sys.argv[4]) / 100
a, b = open_tun(dev_a), open_tun(dev_b)
cut = False
def on_cut(*_):
    global cut
    cut = True
signal.signal(signal.SIGUSR1, on_cut)
print("ready", flush=True)

due = []  # (time, sequence, fd, packet): delayed packets, in order
sequence = 0
while True:
    timeout = max(0.0, due[0][0] - time.monotonic()) if due else 1.0
    try:
        readable, _, _ = select.select([a, b], [], [], timeout)
    except InterruptedError:
        continue
    for fd in readable:
        try:
            packet = os.read(fd, MAX_PACKET)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:  # EIO while the device is down (being moved into its namespace)
            time.sleep(0.01)
            continue
        if cut:
            continue
        if fd == a:
            try:
                os.write(b, packet)  # the clean direction
            except OSError:
                pass
        elif random.random() >= loss:
            sequence += 1
            heapq.heappush(due, (time.monotonic() + delay, sequence, a, packet))
    now = time.monotonic()
    while due and due[0][0] <= now:
        _, _, fd, packet = heapq.heappop(due)
        if not cut:
            try:
                os.write(fd, packet)
            except OSError:
                pass
