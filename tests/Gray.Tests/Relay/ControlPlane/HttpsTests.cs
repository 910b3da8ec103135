// http.tls: the control plane over HTTPS with the relay's certificate, which admin.json pins.
using System.Net;
using Gray.Net;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.ControlPlane;

public class HttpsTests
{
    [Fact]
    public async Task With_tls_the_control_plane_answers_https_with_the_relays_certificate_over_http2()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpTls = true);
        var admin = relay.Admin;
        Assert.StartsWith("https://", admin.Url);
        Assert.Equal(relay.Context.Fingerprint, admin.Fingerprint);

        using var pinned = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = Certificates.PinSha256(admin.Fingerprint!) },
        })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        pinned.DefaultRequestHeaders.Authorization = new("Bearer", admin.Token);
        using var response = await pinned.GetAsync(admin.Url + "/api/v1/servers");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);

        // Without the pin, the self-made certificate is not trusted.
        using var unpinned = new HttpClient();
        await Assert.ThrowsAsync<HttpRequestException>(() => unpinned.GetAsync(admin.Url + "/healthz"));
    }
}
