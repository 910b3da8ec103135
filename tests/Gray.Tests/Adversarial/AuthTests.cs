// Authentication attacked from outside: before a valid proof the relay says nothing that depends on the
// ID, reads no more than each step needs, backs off wrong proofs per address, logs sparingly, and
// refuses a proof made through a man in the middle (decision 0034).
using System.Buffers.Binary;
using System.Net.Security;
using System.Security.Cryptography;
using Gray.Protocol;
using Gray.Relay;
using Gray.Tests.Harness;

namespace Gray.Tests.Adversarial;

public class AuthTests
{
    [Fact]
    public async Task Before_a_valid_proof_every_refusal_is_the_same_whatever_the_id_pool_or_flags()
    {
        await using var relay = await InProcessRelay.StartAsync();
        var server = relay.AddServer("tenant");
        string wrong = Auth.NewSecret();
        (string Id, string Secret, ushort Pool, bool Plain, bool Key)[] attempts =
        [
            ("nobody", wrong, 8, false, false), // unknown ID
            ("tenant", wrong, 8, false, false), // wrong secret
            ("tenant", wrong, 0, false, false), // and a pool out of range
            ("tenant", wrong, 8, true, false), // and plain data, which this relay forbids
            ("tenant", wrong, 8, false, true), // a key, and the relay has no trusted keys
            ("bad\rid\u001b[31m", wrong, 8, false, false), // control characters in the ID
        ];
        var answers = new List<ErrorMessage>();
        foreach (var (id, secret, pool, plain, key) in attempts)
        {
            answers.Add(Assert.IsType<ErrorMessage>(
                await HandshakeAsync(relay.ControlPort, new Hello(Wire.Version, pool, plain, id, key), secret)));
        }

        Assert.All(answers, a => Assert.Equal(ErrorCode.BadProof, a.Code));
        Assert.Single(answers.Take(5).Select(a => a.Message.Replace("'nobody'", "'tenant'")).Distinct());
        Assert.DoesNotContain(answers, a => a.Message.Contains('\r') || a.Message.Contains('\u001b'));
        Assert.Equal(attempts.Length, relay.Context.PreAuth.Total("bad proof"));
    }

    [Fact]
    public async Task After_a_valid_proof_the_agent_learns_what_is_wrong()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.AllowPlainData = false);
        var server = relay.AddServer("tenant");
        foreach (var (pool, plain, expected) in new (ushort, bool, ErrorCode)[]
        {
            (0, false, ErrorCode.PoolOutOfRange), (1000, false, ErrorCode.PoolOutOfRange),
            (8, true, ErrorCode.PlainDataForbidden),
        })
        {
            var answer = await HandshakeAsync(relay.ControlPort, new Hello(Wire.Version, pool, plain, server.Id),
                server.Secret);
            Assert.Equal(expected, Assert.IsType<ErrorMessage>(answer).Code);
        }

        var older = await HandshakeAsync(relay.ControlPort, new Hello(1, 8, false, server.Id), server.Secret);
        Assert.Equal(ErrorCode.UnsupportedVersion, Assert.IsType<ErrorMessage>(older).Code);
    }

    [Fact]
    public async Task A_proof_made_through_a_man_in_the_middle_fails()
    {
        await using var relay = await InProcessRelay.StartAsync();
        var server = relay.AddServer("tenant");
        // The agent talked to a relay impostor: it bound its proof to the impostor's certificate, which
        // the impostor relays to the real relay's challenge.
        using var impostor = Gray.Net.Certificates.CreateSelfSigned("relay.example.org");
        await using var control = await FakeAgent.TlsAsync(relay.ControlPort);
        await control.WriteAsync(ControlFrames.Encode(new Hello(Wire.Version, 8, false, server.Id)));
        var challenge = Assert.IsType<Challenge>(await ReadAsync(control)).Nonce;
        byte[] proof = Auth.Proof(server.Secret, server.Id, challenge, Auth.ChannelBinding(impostor));
        await control.WriteAsync(ControlFrames.Encode(new Proof(proof)));
        Assert.Equal(ErrorCode.BadProof, Assert.IsType<ErrorMessage>(await ReadAsync(control)).Code);

        // The same secret bound to the certificate the agent really received gets in.
        var welcome = await HandshakeAsync(relay.ControlPort, new Hello(Wire.Version, 8, false, server.Id),
            server.Secret);
        Assert.IsType<Welcome>(welcome);
    }

    [Fact]
    public async Task A_server_with_auth_key_refuses_its_secret_and_takes_its_key()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string keys = Path.Combine(Directory.CreateTempSubdirectory("gray-keys-").FullName, "trusted_keys");
        await File.WriteAllTextAsync(keys, $"tenant {Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())}\n");
        await using var relay = await InProcessRelay.StartAsync(o =>
        {
            o.TrustedKeysSource = keys;
            o.Servers["tenant"] = new ServerRules { Auth = ServerAuth.KeyOnly };
        });
        var server = relay.AddServer("tenant");
        var bySecret = await HandshakeAsync(relay.ControlPort, new Hello(Wire.Version, 8, false, server.Id),
            server.Secret);
        Assert.Equal(ErrorCode.BadProof, Assert.IsType<ErrorMessage>(bySecret).Code);
        var byKey = await HandshakeAsync(relay.ControlPort, new Hello(Wire.Version, 8, false, server.Id, KeyAuth: true),
            "", key: key);
        Assert.IsType<Welcome>(byKey);
    }

    [Fact]
    public async Task Wrong_proofs_back_off_per_address_and_a_good_one_from_elsewhere_gets_in()
    {
        await using var relay = await InProcessRelay.StartAsync();
        var server = relay.AddServer("tenant");
        var hello = new Hello(Wire.Version, 8, false, server.Id);
        for (int i = 0; i < LoginBackoff.FreeFailures + 1; i++)
        {
            var answer = await HandshakeAsync(relay.ControlPort, hello, Auth.NewSecret(), "127.0.0.9");
            Assert.Equal(ErrorCode.BadProof, Assert.IsType<ErrorMessage>(answer).Code);
        }

        // Blocked now, even with the right secret; another address is not.
        var blocked = await HandshakeAsync(relay.ControlPort, hello, server.Secret, "127.0.0.9");
        Assert.Equal(ErrorCode.TooManyAttempts, Assert.IsType<ErrorMessage>(blocked).Code);
        Assert.IsType<Welcome>(await HandshakeAsync(relay.ControlPort, hello, server.Secret, "127.0.0.10"));

        relay.Time.Advance(TimeSpan.FromSeconds(2)); // the first block is one second
        // (the session from 127.0.0.10 has just ended: the relay waits for its ports before reopening them)
        Assert.IsType<Welcome>(await HandshakeAsync(relay.ControlPort, hello, server.Secret, "127.0.0.9"));
    }

    [Fact]
    public async Task Before_the_proof_the_relay_reads_no_more_than_a_hello_and_logs_failures_sparingly()
    {
        await using var relay = await InProcessRelay.StartAsync();
        var server = relay.AddServer("sturdy");
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, Wire.MaxHelloFrameBytes + 1);
        foreach (byte[] garbage in new[] { header, [0, 0, 0, 1, 0x7f],
                     ControlFrames.Encode(new Hello(Wire.Version, 8, false, new string('x', 100))) })
        {
            await using var control = await FakeAgent.TlsAsync(relay.ControlPort);
            await control.WriteAsync(garbage);
            Assert.True(await FakeAgent.IsClosedAsync(control, Tcp.Deadline));
        }

        Assert.Equal(3, relay.Context.PreAuth.Total("control handshake"));
        using (var notTls = await Tcp.ConnectAsync(relay.ControlPort))
        {
            await notTls.SendAsync("GET / HTTP/1.1\r\nHost: relay\r\n\r\n"u8.ToArray());
            Assert.True(await Tcp.IsClosedByPeerAsync(notTls));
        }

        await Wait.UntilAsync(() => relay.Context.PreAuth.Total("control: tls handshake") == 1, "counted");
        Assert.IsType<Welcome>(await HandshakeAsync(relay.ControlPort, new Hello(Wire.Version, 8, false, server.Id),
            server.Secret));
    }

    /// <summary>Hello, then a proof of <paramref name="secret"/>; the relay's answer (Error or Welcome).</summary>
    internal static async Task<ControlMessage> HandshakeAsync(int controlPort, Hello hello, string secret,
        string from = "127.0.0.1", ECDsa? key = null)
    {
        await using var control = await FakeAgent.TlsAsync(controlPort, from);
        await control.WriteAsync(ControlFrames.Encode(hello));
        var first = await ReadAsync(control);
        if (first is not Challenge challenge) return first;
        byte[] binding = FakeAgent.Binding(control);
        ControlMessage proof = hello.KeyAuth
            ? new SignedProof(key is null ? new byte[Wire.SignatureBytes]
                : Auth.Sign(key, hello.Id, challenge.Nonce, binding))
            : new Proof(Auth.Proof(secret, hello.Id, challenge.Nonce, binding));
        await control.WriteAsync(ControlFrames.Encode(proof));
        return await ReadAsync(control);
    }

    private static async Task<ControlMessage> ReadAsync(SslStream control)
    {
        using var cts = new CancellationTokenSource(Tcp.Deadline);
        return await ControlFrames.ReadAsync(control, cts.Token)
            ?? throw new EndOfStreamException("the relay closed without an answer");
    }
}
