// Admission is balanced: what a subclass takes when it admits a connection comes back when the session
// ends, or when no session could be made for it.
namespace Gray.Net.Tests;

/// <summary>What a subclass takes in CheckAdmission comes back, even when no session could be made.</summary>
public class AdmissionBalanceTests
{
    [Fact]
    public async Task A_failed_session_gives_back_what_its_admission_took()
    {
        await using var server = new FailingOnceServer();
        server.Start();
        using (var first = await Loopback.ConnectAsync(server.EndPoint))
        {
            Assert.True(await Loopback.IsClosedByPeerAsync(first)); // its session could not be made
        }

        Assert.Equal(0, server.Taken);
        var client = new TcpClient(server.EndPoint);
        await client.ConnectAsync();
        await Wait.UntilAsync(() => server.Taken == 1, "the second admitted");
        await client.DisconnectAsync();
        await Wait.UntilAsync(() => server.Taken == 0, "given back when the session ended");
    }

    private sealed class FailingOnceServer() : TcpServer(Loopback.AnyPort)
    {
        private int _taken, _sessions;

        public int Taken => Volatile.Read(ref _taken);

        protected override TcpSession CreateSession() =>
            Interlocked.Increment(ref _sessions) == 1 ? throw new InvalidOperationException("no session") : new(this);

        protected override RefuseReason? CheckAdmission(System.Net.IPEndPoint remoteEndPoint)
        {
            Interlocked.Increment(ref _taken);
            return null;
        }

        protected override void OnAdmissionCanceled(System.Net.IPEndPoint remoteEndPoint) =>
            Interlocked.Decrement(ref _taken);

        protected override void OnSessionEnded(TcpSession session) => Interlocked.Decrement(ref _taken);
    }
}
