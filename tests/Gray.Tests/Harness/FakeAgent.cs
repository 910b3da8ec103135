// An agent written by hand from the protocol, so tests can present chosen OTPs and misbehave on purpose.
using System.Net.Security;
using System.Net.Sockets;
using Gray.Protocol;

namespace Gray.Tests.Harness;

public sealed class FakeAgent : IAsyncDisposable
{
    private readonly SslStream _control;
    private readonly Queue<byte[]> _otps = new();

    private readonly int _controlPort;
    private readonly string _id;

    private FakeAgent(SslStream control, Welcome welcome, int controlPort, string id)
    {
        _control = control;
        Welcome = welcome;
        _controlPort = controlPort;
        _id = id;
    }

    public Welcome Welcome { get; }

    /// <summary>Where its data connections go: the control port (Welcome's data port 0) or a separate one.</summary>
    public int DataPort => Welcome.DataPort == 0 ? _controlPort : Welcome.DataPort;

    /// <summary>Logs in as <paramref name="server"/>; <paramref name="version"/> 2 is an older agent, which the
    /// relay gives a separate data port.</summary>
    public static async Task<FakeAgent> ConnectAsync(int controlPort, AddedServer server, int pool, bool mux = false,
        ushort version = Wire.Version)
    {
        var control = await TlsAsync(controlPort);
        await control.WriteAsync(
            ControlFrames.Encode(new Hello(version, (ushort)pool, false, server.Id, Mux: mux)));
        var challenge = Assert.IsType<Challenge>(await ReadAsync(control)).Nonce;
        await control.WriteAsync(ControlFrames.Encode(
            new Proof(Auth.Proof(server.Secret, server.Id, challenge, Binding(control)))));
        return new FakeAgent(control, Assert.IsType<Welcome>(await ReadAsync(control)), controlPort, server.Id);
    }

    /// <summary>What a data connection sends first to present <paramref name="otp"/>: a DataOpen frame on the
    /// control port, or the preface on a separate data port.</summary>
    public byte[] Open(byte[] otp, bool mux = false)
    {
        var kind = mux ? DataConnectionKind.Multiplexed : DataConnectionKind.Pooled;
        return Welcome.DataPort == 0 ? ControlFrames.Encode(new DataOpen(kind, _id, otp)) : Preface(otp, mux);
    }

    /// <summary>The TLS channel binding of a connection to the relay, as an agent computes it.</summary>
    public static byte[] Binding(SslStream control) =>
        Auth.ChannelBinding(new System.Security.Cryptography.X509Certificates.X509Certificate2(
            control.RemoteCertificate!));

    /// <summary>The next OTP the relay sends (answering its pings meanwhile).</summary>
    public async Task<byte[]> NextOtpAsync()
    {
        while (_otps.Count == 0)
        {
            var message = await ReadAsync(_control)
                ?? throw new EndOfStreamException("the relay closed the control connection");
            if (message is Otps otps) foreach (var otp in otps.Values) _otps.Enqueue(otp);
            else if (message is Ping ping) await _control.WriteAsync(ControlFrames.Encode(new Pong(ping.Nonce)));
        }

        return _otps.Dequeue();
    }

    /// <summary>A TLS data connection that has sent <paramref name="preface"/> (or nothing, if null), to
    /// <see cref="DataPort"/>.</summary>
    public async Task<SslStream> OpenDataAsync(byte[]? preface)
    {
        var data = await TlsAsync(DataPort);
        if (preface is not null) await data.WriteAsync(preface);
        return data;
    }

    public async ValueTask DisposeAsync() => await _control.DisposeAsync();

    /// <summary>True when the relay closes the control connection within the deadline (frames before it are
    /// skipped).</summary>
    public async Task<bool> IsControlClosedAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        var buffer = new byte[4096];
        try
        {
            while (await _control.ReadAsync(buffer, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>True when the relay closes the data connection (EOF or reset) within the deadline.</summary>
    public static async Task<bool> IsClosedAsync(SslStream data, TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        try
        {
            return await data.ReadAsync(new byte[1], cts.Token) == 0;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false; // still open when the time was up
        }
    }

    public static async Task<SslStream> TlsAsync(int port, string from = "127.0.0.1")
    {
        var socket = await Tcp.ConnectAsync(port, from: System.Net.IPAddress.Parse(from));
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync("localhost");
        return ssl;
    }

    /// <summary>The preface of a data connection that presents <paramref name="otp"/>.</summary>
    public static byte[] Preface(byte[] otp, bool mux = false) =>
        new DataPreface(mux ? DataConnectionKind.Multiplexed : DataConnectionKind.Pooled, otp).Encode();

    private static async Task<ControlMessage?> ReadAsync(SslStream stream)
    {
        using var cts = new CancellationTokenSource(Tcp.Deadline);
        return await ControlFrames.ReadAsync(stream, cts.Token);
    }
}
