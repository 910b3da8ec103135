// The control plane's tokens: nothing without one, nothing changed with a read one, wrong ones back off
// per address, and http.open leaves only what it names open.
using System.Net;
using System.Net.Http.Json;
using Gray.Relay;
using Gray.Relay.ControlPlane;
using Gray.Tests.Harness;

namespace Gray.Tests.Relay.ControlPlane;

public class AuthenticationTests
{
    [Fact]
    public async Task Without_a_token_nothing_answers_and_a_read_token_changes_nothing()
    {
        await using var relay = await InProcessRelay.StartAsync();
        relay.AddServer("guarded");
        using var anonymous = relay.Api("");
        foreach (string path in new[] { "/api/v1/servers", "/api/v1/relay", "/metrics", "/healthz", "/readyz",
            "/api/v1/events", "/api/v1/tokens" })
        {
            using var response = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }

        var read = relay.Context.Registry.CreateToken(ApiScope.Read, "dashboard viewer").Token;
        using var reader = relay.Api(read);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/v1/servers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/api/v1/servers",
            new AddServerRequest("sneaky"), ApiJson.Default.AddServerRequest)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.DeleteAsync("/api/v1/servers/guarded")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync("/api/v1/drain", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.GetAsync("/api/v1/tokens")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync("/api/v1/relay/shutdown", null)).StatusCode);
        Assert.NotNull(relay.Context.Registry.Find("guarded"));
        Assert.Null(relay.Context.Registry.Find("sneaky"));
        Assert.False(relay.Context.IsDraining("guarded"));
    }

    [Fact]
    public async Task Wrong_tokens_back_off_per_address_and_a_good_one_waits_out_the_block()
    {
        await using var relay = await InProcessRelay.StartAsync();
        using var guesser = relay.Api(Gray.Relay.Registry.TokenPrefix + "guess");
        for (int i = 0; i < LoginBackoff.FreeFailures; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/api/v1/servers")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await guesser.GetAsync("/api/v1/servers")).StatusCode);
        using var blocked = await guesser.GetAsync("/api/v1/servers");
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.True(blocked.Headers.RetryAfter?.Delta > TimeSpan.Zero);

        // Even the right token waits while its address is blocked: a guesser learns nothing by trying one.
        using var admin = relay.Api();
        Assert.Equal(HttpStatusCode.TooManyRequests, (await admin.GetAsync("/api/v1/servers")).StatusCode);
        relay.Time.Advance(LoginBackoff.LongestBlock);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/servers")).StatusCode);
    }

    [Fact]
    public async Task Http_open_leaves_only_the_named_endpoints_without_a_token()
    {
        await using var relay = await InProcessRelay.StartAsync(o => o.HttpOpen = new HashSet<string>
        {
            "metrics", "readyz",
        });
        using var anonymous = relay.Api("");
        Assert.Contains("process_cpu_time_seconds_total", await anonymous.GetStringAsync("/metrics"));
        Assert.Equal("ready\n", await anonymous.GetStringAsync("/readyz"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/v1/servers")).StatusCode);
    }

    [Fact]
    public async Task The_data_directory_token_is_kept_across_restarts_and_replaced_once_revoked()
    {
        string dataDir = Directory.CreateTempSubdirectory("gray-relay-").FullName;
        string first;
        await using (var relay = await InProcessRelay.StartAsync(o => o.DataDir = dataDir))
        {
            first = relay.Admin.Token;
            Assert.StartsWith(Gray.Relay.Registry.TokenPrefix, first);
            Assert.Equal("-rw-------", Mode(Path.Combine(dataDir, AdminEndpointFile.FileName)));
        }

        await using (var relay = await InProcessRelay.StartAsync(o => o.DataDir = dataDir))
        {
            Assert.Equal(first, relay.Admin.Token);
            using var admin = relay.Api();
            var tokens = await admin.GetFromJsonAsync("/api/v1/tokens", ApiJson.Default.ListTokenView);
            var local = Assert.Single(tokens!);
            Assert.Equal("admin", local.Scope);
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/tokens/{local.Id}")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await admin.GetAsync("/api/v1/servers")).StatusCode);
        }

        await using (var relay = await InProcessRelay.StartAsync(o => o.DataDir = dataDir))
        {
            Assert.NotEqual(first, relay.Admin.Token);
            using var admin = relay.Api();
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/servers")).StatusCode);
        }
    }

    private static string Mode(string path) =>
        OperatingSystem.IsWindows() ? "-rw-------" : UnixMode(File.GetUnixFileMode(path));

    private static string UnixMode(UnixFileMode mode) =>
        "-" + (mode.HasFlag(UnixFileMode.UserRead) ? "r" : "-") + (mode.HasFlag(UnixFileMode.UserWrite) ? "w" : "-")
        + (mode.HasFlag(UnixFileMode.UserExecute) ? "x" : "-")
        + (mode.HasFlag(UnixFileMode.GroupRead) ? "r" : "-") + (mode.HasFlag(UnixFileMode.GroupWrite) ? "w" : "-")
        + (mode.HasFlag(UnixFileMode.GroupExecute) ? "x" : "-")
        + (mode.HasFlag(UnixFileMode.OtherRead) ? "r" : "-") + (mode.HasFlag(UnixFileMode.OtherWrite) ? "w" : "-")
        + (mode.HasFlag(UnixFileMode.OtherExecute) ? "x" : "-");
}
