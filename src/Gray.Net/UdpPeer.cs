// What UDP servers and clients share: one socket, one pooled receive buffer, a receive loop,
// non-blocking sends that count what the kernel would not take, and multicast membership.
using System.Net;
using System.Net.Sockets;
using Gray.Net.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gray.Net;

public abstract partial class UdpPeer : IAsyncDisposable
{
    private readonly object _lifecycle = new();
    private Socket? _socket;
    private CancellationTokenSource? _stopping;
    private Task _receiveLoop = Task.CompletedTask;
    private long _datagramsReceived;
    private long _bytesReceived;
    private long _datagramsSent;
    private long _bytesSent;
    private long _datagramsDropped;

    protected UdpPeer(UdpOptions? options)
    {
        Options = options ?? new UdpOptions();
        Logger = (Options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger(GetType());
    }

    public UdpOptions Options { get; }

    public IPEndPoint? LocalEndPoint { get; private set; }

    public bool IsStarted => Volatile.Read(ref _socket) is not null;

    public Socket Socket => _socket ?? throw new InvalidOperationException("Not started.");

    public long DatagramsReceived => Interlocked.Read(ref _datagramsReceived);

    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public long DatagramsSent => Interlocked.Read(ref _datagramsSent);

    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Datagrams not sent because the socket buffer was full, or received truncated.</summary>
    public long DatagramsDropped => Interlocked.Read(ref _datagramsDropped);

    protected ILogger Logger { get; }

    /// <summary>
    /// Sends one datagram without waiting; false (and counted as dropped) if the kernel would not take it.
    /// </summary>
    public bool SendTo(EndPoint remote, ReadOnlySpan<byte> datagram)
    {
        try
        {
            Count(Socket.SendTo(datagram, SocketFlags.None, remote));
            return true;
        }
        catch (SocketException error) when (IsTransientSendError(error.SocketErrorCode))
        {
            Interlocked.Increment(ref _datagramsDropped);
            return false;
        }
    }

    /// <summary>
    /// Sends on a connected socket (no address to encode); false and counted as dropped
    /// if the kernel would not take it.
    /// </summary>
    protected bool SendConnected(ReadOnlySpan<byte> datagram)
    {
        try
        {
            Count(Socket.Send(datagram, SocketFlags.None));
            return true;
        }
        catch (SocketException error) when (IsTransientSendError(error.SocketErrorCode))
        {
            Interlocked.Increment(ref _datagramsDropped);
            return false;
        }
    }

    public async ValueTask SendToAsync(EndPoint remote, ReadOnlyMemory<byte> datagram,
        CancellationToken cancellationToken = default)
    {
        Count(await Socket.SendToAsync(datagram, SocketFlags.None, remote, cancellationToken).ConfigureAwait(false));
    }

    public void JoinMulticastGroup(IPAddress group, IPAddress? localInterface = null) =>
        SetMembership(SocketOptionName.AddMembership, group, localInterface);

    public void LeaveMulticastGroup(IPAddress group, IPAddress? localInterface = null) =>
        SetMembership(SocketOptionName.DropMembership, group, localInterface);

    /// <summary>Stops receiving and closes the socket; the port is free when this returns.</summary>
    public async Task StopAsync()
    {
        Socket? socket;
        Task loop;
        lock (_lifecycle)
        {
            socket = _socket;
            if (socket is null) return;
            Volatile.Write(ref _socket, null);
            _stopping!.Cancel();
            loop = _receiveLoop;
        }

        socket.Dispose();
        await loop.ConfigureAwait(false);
        OnStopped();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Called for each datagram, on the receive loop.</summary>
    protected virtual void OnReceived(EndPoint remote, ReadOnlySpan<byte> datagram)
    {
    }

    protected virtual void OnError(Exception error) => Log.UdpReceiveFailed(Logger, error, LocalEndPoint);

    protected virtual void OnStarted()
    {
    }

    protected virtual void OnStopped()
    {
    }

    /// <summary>Binds <paramref name="bind"/>, optionally connects, and starts the receive loop.</summary>
    protected void Open(IPEndPoint bind, IPEndPoint? connectTo)
    {
        lock (_lifecycle)
        {
            if (_socket is not null) throw new InvalidOperationException("Already started.");
            var socket = new Socket(bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                if (bind.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = Options.DualMode;
                if (Options.ReuseAddress) socket.SetSocketOption(SocketOptionLevel.Socket,
                    SocketOptionName.ReuseAddress, true);
                if (Options.SocketReceiveBufferBytes is { } receiveBuffer) socket.ReceiveBufferSize = receiveBuffer;
                if (Options.SocketSendBufferBytes is { } sendBuffer) socket.SendBufferSize = sendBuffer;
                ReceiveOnlyJoinedGroups(socket);
                socket.Bind(bind);
                ConfigureMulticastSending(socket);
                if (connectTo is not null) socket.Connect(connectTo);
                socket.Blocking = false; // SendTo must never wait: a full buffer drops and counts
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
            _stopping = new CancellationTokenSource();
            Volatile.Write(ref _socket, socket);
            _receiveLoop = ReceiveLoopAsync(socket, _stopping.Token);
        }

        OnStarted();
    }

    protected void Count(int bytesSent)
    {
        Interlocked.Increment(ref _datagramsSent);
        Interlocked.Add(ref _bytesSent, bytesSent);
    }

    protected static bool IsTransientSendError(SocketError code) =>
        code is SocketError.WouldBlock or SocketError.NoBufferSpaceAvailable or SocketError.ConnectionRefused;

    // One buffer for the socket's life; the remote address is decoded again only when it changes.
    private async Task ReceiveLoopAsync(Socket socket, CancellationToken cancellationToken)
    {
        byte[] buffer = BufferPool.Bytes.Rent(Options.ReceiveBufferBytes);
        var address = new SocketAddress(socket.AddressFamily);
        var template = new IPEndPoint(socket.AddressFamily == AddressFamily.InterNetworkV6
            ? IPAddress.IPv6Any : IPAddress.Any, 0);
        SocketAddress? lastAddress = null;
        EndPoint? lastRemote = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                int received;
                try
                {
                    received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, address, cancellationToken)
                        .ConfigureAwait(false);
                }
                catch (SocketException error) when (error.SocketErrorCode is SocketError.MessageSize)
                {
                    Interlocked.Increment(ref _datagramsDropped);
                    continue;
                }
                catch (SocketException error)
                    when (error.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
                {
                    continue; // ICMP unreachable from an earlier send: not this socket's fault
                }

                if (lastAddress is null || !lastAddress.Equals(address))
                {
                    lastRemote = template.Create(address);
                    lastAddress = new SocketAddress(address.Family, address.Size);
                    address.Buffer.Span[..address.Size].CopyTo(lastAddress.Buffer.Span);
                }

                Interlocked.Increment(ref _datagramsReceived);
                Interlocked.Add(ref _bytesReceived, received);
                try
                {
                    OnReceived(lastRemote!, buffer.AsSpan(0, received));
                }
                catch (Exception error)
                {
                    Log.CallbackFailed(Logger, error);
                }
            }
        }
        catch (Exception error) when (SocketErrors.IsConnectionEnd(error) || cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception error)
        {
            try
            {
                OnError(error);
            }
            catch (Exception callbackError)
            {
                Log.CallbackFailed(Logger, callbackError);
            }
        }
        finally
        {
            BufferPool.Bytes.Return(buffer);
        }
    }
}
