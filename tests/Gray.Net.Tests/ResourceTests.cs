using System.Net;
using System.Net.Sockets;

namespace Gray.Net.Tests;

/// <summary>Tests that count process-wide resources run alone, after the parallel ones.</summary>
[CollectionDefinition(nameof(ProcessWide), DisableParallelization = true)]
public sealed class ProcessWide;

[Collection(nameof(ProcessWide))]
public class ResourceTests
{
    /// <summary>Open descriptors, after finalizers of sockets other tests dropped have run.</summary>
    private static int OpenDescriptors()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return Directory.GetFiles("/proc/self/fd").Length;
    }

    [Fact]
    public async Task A_thousand_connect_disconnect_cycles_leak_no_descriptor()
    {
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        await CycleAsync(server.EndPoint, 20); // warm up the runtime's own lazily opened handles
        await Wait.UntilAsync(() => server.SessionCount == 0, "warm-up sessions closed");
        int before = OpenDescriptors();

        await CycleAsync(server.EndPoint, 1000);
        await Wait.UntilAsync(() => server.SessionCount == 0, "every session closed");
        int after = OpenDescriptors();
        Assert.Equal(1020, server.SessionsAccepted);
        Assert.True(after <= before + 2, $"{after - before} descriptors more after 1000 cycles ({before} → {after})");

        await server.StopAsync();
        Assert.InRange(OpenDescriptors(), 0, before); // the listener went too
    }

    [Fact]
    public async Task Aborted_connections_leave_no_unobserved_task_exception()
    {
        var unobserved = new List<Exception>();
        EventHandler<UnobservedTaskExceptionEventArgs> handler =
            (_, e) => { lock (unobserved) unobserved.Add(e.Exception); };
        TaskScheduler.UnobservedTaskException += handler;
        try
        {
            await using (var server = new EchoServer(Loopback.AnyPort))
            {
                server.Start();
                for (int i = 0; i < 200; i++)
                {
                    using var socket = await Loopback.ConnectAsync(server.EndPoint);
                    await socket.SendAsync(new byte[100_000]);
                    socket.LingerState = new LingerOption(true, 0); // RST mid-transfer
                }

                await Wait.UntilAsync(() => server.SessionCount == 0, "sessions closed");
                using var last = await Loopback.ConnectAsync(server.EndPoint);
            } // stop with a live session

            for (int i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            Assert.Empty(unobserved);
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= handler;
        }
    }

    [Fact]
    public async Task Idle_sessions_hold_no_receive_buffer()
    {
        const int sessions = 1000;
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        var clients = new List<Socket>();
        long before = GC.GetTotalMemory(forceFullCollection: true);
        for (int i = 0; i < sessions; i++)
        {
            var socket = await Loopback.ConnectAsync(server.EndPoint);
            await TcpServerTests.AssertEchoAsync(socket); // each session has received data once
            clients.Add(socket);
        }

        long after = GC.GetTotalMemory(forceFullCollection: true);
        long perSession = (after - before) / sessions;
        // A 64 KiB receive buffer per idle session would show here.
        Assert.True(perSession < 16 * 1024, $"{perSession} managed bytes per idle session (client sockets included)");
        foreach (var client in clients) client.Dispose();
    }

    [Fact]
    public async Task Out_of_descriptors_accept_sheds_new_connections_and_recovers()
    {
        // Exhausting descriptors inside the test host would take the runner down, so a child
        // process does it (tests/Gray.Net.FdExhaustion) and reports each step.
        string child = Path.Combine(AppContext.BaseDirectory.Replace("Gray.Net.Tests", "Gray.Net.FdExhaustion"),
            "Gray.Net.FdExhaustion.dll");
        Assert.True(File.Exists(child), $"missing {child}");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [child])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }

        string report = await output + await errors;
        Assert.True(process.ExitCode == 0, report);
        Assert.Matches(@"accept errors while exhausted: [1-9]", report);
        Assert.Matches(@"shed while exhausted: [1-9]", report);
        Assert.Contains("recovered: sessions accepted 2, server started True", report);
    }

    [Fact]
    public async Task Out_of_descriptors_shedding_serves_a_connection_that_came_after_recovery()
    {
        // The accept loop sheds after accept failed with EMFILE; the limit may be back by the time it
        // takes a pending connection, and then that connection is served, not reset. Here descriptors
        // are to spare throughout, as after recovery; a listener of our own holds the connection.
        await using var server = new EchoServer(Loopback.AnyPort);
        server.Start();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(Loopback.AnyPort);
        listener.Listen();
        using var client = await Loopback.ConnectAsync((IPEndPoint)listener.LocalEndPoint!);
        Assert.True(listener.Poll(Loopback.Deadline, SelectMode.SelectRead), "the connection is in the backlog");

        Assert.True(server.ShedOneConnection(listener),
            "descriptors are back: the accept loop goes on without its retry delay");
        await TcpServerTests.AssertEchoAsync(client);
        Assert.Equal(0, server.RefusedFor(RefuseReason.DescriptorsExhausted));
        Assert.Equal(1, server.SessionsAccepted);
    }

    private static async Task CycleAsync(IPEndPoint endPoint, int count)
    {
        for (int i = 0; i < count; i++)
        {
            using var socket = await Loopback.ConnectAsync(endPoint);
            await TcpServerTests.AssertEchoAsync(socket);
        }
    }
}
