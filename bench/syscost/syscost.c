// What one socket system call costs on this machine, on loopback (used by docs/benchmarks.md).
// Build and run: gcc -O2 -pthread -o /tmp/syscost syscost.c && /tmp/syscost
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static char buf[65536];

static void tcp_pair(int *client, int *server)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof a;
    int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    bind(listener, (void *)&a, sizeof a);
    listen(listener, 1);
    getsockname(listener, (void *)&a, &length);
    *client = socket(AF_INET, SOCK_STREAM, 0);
    connect(*client, (void *)&a, sizeof a);
    *server = accept(listener, 0, 0);
    close(listener);
    setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(*server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(*server, F_SETFL, O_NONBLOCK);
}

static void recv_exactly(int fd, long count)
{
    while (count > 0)
    {
        long r = recv(fd, buf, sizeof buf, 0);
        if (r > 0) count -= r;
    }
}

// Two threads pass one byte back and forth through two pipes: each round trip is two wake-ups.
static int ping[2], pong[2], rounds;

static void *echo_thread(void *unused)
{
    char c;
    for (int i = 0; i < rounds; i++)
    {
        if (read(ping[0], &c, 1) != 1 || write(pong[1], &c, 1) != 1) break;
    }
    return unused;
}

static double pipe_round_trip(int same_core)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    if (same_core) sched_setaffinity(0, sizeof set, &set); // the new thread inherits it
    pthread_t thread;
    pthread_create(&thread, 0, echo_thread, 0);
    char c = 'x';
    double t0 = now();
    for (int i = 0; i < rounds; i++)
    {
        if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) break;
    }
    double t1 = now();
    pthread_join(thread, 0);
    CPU_ZERO(&set);
    for (int i = 0; i < CPU_SETSIZE && i < 64; i++) CPU_SET(i, &set);
    sched_setaffinity(0, sizeof set, &set);
    return (t1 - t0) * 1e9 / rounds;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    memset(buf, 'a', sizeof buf);
    double t0, t1;

    t0 = now();
    for (int i = 0; i < n; i++) syscall(SYS_getppid);
    t1 = now();
    printf("getppid (an empty system call):                 %6.0f ns\n", (t1 - t0) * 1e9 / n);

    int c, s;
    tcp_pair(&c, &s);
    // 32-byte sends in bursts of 1000 (each becomes its own segment), then one drain.
    double send_time = 0, drain_time = 0;
    long drains = 0;
    for (int j = 0; j < n / 1000; j++)
    {
        t0 = now();
        for (int i = 0; i < 1000; i++) send(c, buf, 32, 0);
        send_time += now() - t0;
        t0 = now();
        long left = 32000;
        while (left > 0)
        {
            long r = recv(s, buf, sizeof buf, 0);
            if (r > 0) { left -= r; drains++; }
        }
        drain_time += now() - t0;
    }
    printf("tcp send of 32 bytes (TCP_NODELAY):             %6.0f ns\n", send_time * 1e9 / (n / 1000 * 1000));
    printf("tcp recv draining 1000 such segments:           %6.0f ns per segment (%ld recv calls)\n",
           drain_time * 1e9 / (n / 1000 * 1000), drains);

    t0 = now();
    for (int i = 0; i < n; i++) { send(c, buf, 32, 0); recv_exactly(s, 32); }
    t1 = now();
    printf("tcp send 32 bytes + recv them:                  %6.0f ns\n", (t1 - t0) * 1e9 / n);

    t0 = now();
    for (int i = 0; i < n; i++) recv(s, buf, 64, 0);
    t1 = now();
    printf("tcp recv on an empty socket (EAGAIN):           %6.0f ns\n", (t1 - t0) * 1e9 / n);

    int m = n / 10;
    t0 = now();
    for (int i = 0; i < m; i++) { send(c, buf, 32000, 0); recv_exactly(s, 32000); }
    t1 = now();
    printf("tcp send 32000 bytes + recv them:               %6.0f ns\n", (t1 - t0) * 1e9 / m);

    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in b = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof b;
    bind(u2, (void *)&b, sizeof b);
    getsockname(u2, (void *)&b, &length);
    fcntl(u2, F_SETFL, O_NONBLOCK);
    t0 = now();
    for (int i = 0; i < n; i++)
    {
        sendto(u1, buf, 32, 0, (void *)&b, sizeof b);
        while (recv(u2, buf, 64, 0) <= 0) { }
    }
    t1 = now();
    printf("udp sendto 32 bytes + recv them:                %6.0f ns\n", (t1 - t0) * 1e9 / n);

    int ep = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = s}, ready[16];
    epoll_ctl(ep, EPOLL_CTL_ADD, s, &event);
    t0 = now();
    for (int i = 0; i < n; i++) epoll_wait(ep, ready, 16, 0);
    t1 = now();
    printf("epoll_wait with nothing ready (timeout 0):      %6.0f ns\n", (t1 - t0) * 1e9 / n);

    pipe(ping);
    pipe(pong);
    rounds = n / 4;
    printf("pipe ping-pong, two threads on one core:        %6.0f ns per round trip (2 wake-ups)\n", pipe_round_trip(1));
    printf("pipe ping-pong, two threads free to use 2 cores:%6.0f ns per round trip (2 wake-ups)\n", pipe_round_trip(0));
    return 0;
}
