// The dashboard in a real browser (Debian's Chromium through Playwright): log in, watch a tunnel's
// bytes and chart move, add a server and see its secret once, drain, kick, and what a read-only
// token may not do.
using System.Net;
using System.Net.Sockets;
using Gray.Tests.Harness;
using Microsoft.Playwright;

namespace Gray.Tests.Relay.ControlPlane;

public class DashboardTests
{
    /// <summary>How long a page element may take to show what the test waits for.</summary>
    private const float ExpectTimeoutMs = 15_000;

    [BrowserFact]
    public async Task Logged_in_the_page_shows_a_tunnels_bytes_and_chart_moving_while_data_flows()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 2);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.OpenAsync(tunnel.Relay, tunnel.Relay.Admin.Token, 1280, 900);
        var row = page.Locator("#servers tr[data-server='healthy']");
        await Assertions.Expect(row.Locator("td.agent")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(
            "^connected"), new() { Timeout = ExpectTimeoutMs });
        long before = long.Parse((await row.GetAttributeAsync("data-bytes-in"))!);

        using var client = await Tcp.ConnectAsync(tunnel.Server.ClientPort);
        using var flowing = new CancellationTokenSource();
        var traffic = FlowAsync(client, flowing.Token);
        await Wait.UntilAsync(async () =>
            long.Parse((await row.GetAttributeAsync("data-bytes-in"))!) > before
            && await row.Locator("polyline.in").GetAttributeAsync("points") is { Length: > 0 } points
            && points.Split(' ').Any(p => !p.EndsWith(",27.0", StringComparison.Ordinal)),
            "the byte counter and the chart move");
        await Assertions.Expect(row.Locator("td.rate-in")).Not.ToHaveTextAsync("0 B/s");
        await Assertions.Expect(row.Locator("td.pairs")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("#events li[data-type='pair.opened']")).ToHaveCountAsync(1,
            new() { Timeout = ExpectTimeoutMs });

        // A few minutes' chart would take minutes; a few points show its shape.
        await Wait.UntilAsync(async () => (await row.Locator("polyline.in").GetAttributeAsync("points"))!
            .Split(' ').Length >= 6, "six points on the chart");
        await Screenshots.SaveAsync(page, "dashboard-desktop.png");
        var phone = await browser.OpenAsync(tunnel.Relay, tunnel.Relay.Admin.Token, 390, 844);
        await Assertions.Expect(phone.Locator("#servers tr[data-server='healthy']")).ToBeVisibleAsync();
        await Screenshots.SaveAsync(phone, "dashboard-phone.png");
        await flowing.CancelAsync();
        await traffic;
    }

    [BrowserFact]
    public async Task An_admin_adds_a_server_reads_its_secret_once_drains_and_kicks()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 2);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.OpenAsync(tunnel.Relay, tunnel.Relay.Admin.Token, 1280, 900);

        await page.FillAsync("#add-id", "from-browser");
        await page.ClickAsync("#add-form button");
        await Assertions.Expect(page.Locator("#added")).ToBeVisibleAsync(new() { Timeout = ExpectTimeoutMs });
        string secret = tunnel.Relay.Context.Registry.Find("from-browser")!.Secret;
        await Assertions.Expect(page.Locator("#added-secret")).ToHaveTextAsync(secret);
        await Assertions.Expect(page.Locator("#added-command")).ToContainTextAsync("--id from-browser");
        await page.ClickAsync("#added-close");
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#servers tr[data-server='from-browser']")).ToBeVisibleAsync(
            new() { Timeout = ExpectTimeoutMs });
        Assert.DoesNotContain(secret, await page.ContentAsync());

        var row = page.Locator("#servers tr[data-server='healthy']");
        await row.GetByRole(AriaRole.Button, new() { Name = "Drain" }).ClickAsync();
        await Assertions.Expect(row.GetByRole(AriaRole.Button, new() { Name = "Resume" })).ToBeVisibleAsync(
            new() { Timeout = ExpectTimeoutMs });
        Assert.True(await Tcp.IsRefusedAtOnceAsync(tunnel.Server.ClientPort));
        await row.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Assertions.Expect(row.GetByRole(AriaRole.Button, new() { Name = "Drain" })).ToBeVisibleAsync(
            new() { Timeout = ExpectTimeoutMs });
        await tunnel.AssertHealthyAsync();

        using var client = await Tcp.ConnectAsync(tunnel.Server.ClientPort, from: IPAddress.Parse("127.0.0.66"));
        await client.SendAsync("hi"u8.ToArray());
        await Tcp.ReadExactlyAsync(client, 2);
        await row.Locator("td").First.ClickAsync();
        var clientRow = page.Locator("#clients tbody tr").Filter(new() { HasText = "127.0.0.66:" });
        await Assertions.Expect(clientRow).ToBeVisibleAsync(new() { Timeout = ExpectTimeoutMs });
        await clientRow.GetByRole(AriaRole.Button, new() { Name = "Kick", Exact = true }).ClickAsync();
        Assert.True(await Tcp.IsClosedByPeerAsync(client));
        await Assertions.Expect(clientRow).ToHaveCountAsync(0, new() { Timeout = ExpectTimeoutMs });
    }

    [BrowserFact]
    public async Task An_admin_adds_a_server_by_host_name_and_changes_its_names()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 2);
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.OpenAsync(tunnel.Relay, tunnel.Relay.Admin.Token, 1280, 900);

        await page.FillAsync("#add-id", "named");
        await page.FillAsync("#add-hosts", "app.example.org, *.preview.example.org");
        await page.ClickAsync("#add-form button");
        await Assertions.Expect(page.Locator("#added")).ToBeVisibleAsync(new() { Timeout = ExpectTimeoutMs });
        await page.ClickAsync("#added-close");
        var row = page.Locator("#servers tr[data-server='named']");
        await Assertions.Expect(row.Locator("td.hosts")).ToHaveTextAsync("*.preview.example.org, app.example.org",
            new() { Timeout = ExpectTimeoutMs });
        Assert.Null(tunnel.Relay.Context.Registry.Find("named")!.ClientPort);

        page.Dialog += async (_, dialog) => await dialog.AcceptAsync("web.example.org api.example.org");
        await row.GetByRole(AriaRole.Button, new() { Name = "Hosts" }).ClickAsync();
        await Assertions.Expect(row.Locator("td.hosts")).ToHaveTextAsync("api.example.org, web.example.org",
            new() { Timeout = ExpectTimeoutMs });
        Assert.Equal("named", tunnel.Relay.Context.Registry.Hosts.Find("web.example.org"));
    }

    [BrowserFact]
    public async Task A_read_only_token_sees_no_change_buttons_and_the_api_refuses_it_changes()
    {
        await using var tunnel = await InProcessHealthyTunnel.StartAsync(pool: 2);
        string token = tunnel.Relay.Context.Registry.CreateToken(Gray.Relay.ApiScope.Read, "viewer").Token;
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.OpenAsync(tunnel.Relay, token, 1280, 900);
        await Assertions.Expect(page.Locator("#servers tr[data-server='healthy']")).ToBeVisibleAsync(
            new() { Timeout = ExpectTimeoutMs });
        await Assertions.Expect(page.Locator("#scope")).ToHaveTextAsync("read token");
        foreach (string hidden in new[] { "#add-form", "#drain-all", "#resume-all" })
        {
            await Assertions.Expect(page.Locator(hidden)).ToBeHiddenAsync();
        }

        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Drain" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Delete" })).ToHaveCountAsync(0);
        int status = await page.EvaluateAsync<int>(
            "token => fetch('/api/v1/drain', { method: 'POST', headers: { Authorization: 'Bearer ' + token } })" +
            ".then(r => r.status)", token);
        Assert.Equal(403, status);
        Assert.False(tunnel.Relay.Context.DrainAll);
    }

    private static async Task FlowAsync(Socket client, CancellationToken stop)
    {
        var chunk = new byte[16 * 1024];
        var echoed = new byte[chunk.Length];
        while (!stop.IsCancellationRequested)
        {
            await client.SendAsync(chunk);
            int received = 0;
            while (received < chunk.Length) received += await client.ReceiveAsync(echoed.AsMemory(received));
            try
            {
                await Task.Delay(50, stop);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    [BrowserAndPostgresFact]
    public async Task A_cluster_node_shows_every_node_and_drains_another()
    {
        await using var postgres = await PostgresServer.StartAsync();
        string registry = await postgres.CreateDatabaseAsync("dashboard");
        await using var a = await InProcessRelay.StartNodeAsync(registry, "node-a", "127.0.0.1");
        await using var b = await InProcessRelay.StartNodeAsync(registry, "node-b", "127.0.0.2");
        await using var browser = await Browser.LaunchAsync();
        var page = await browser.OpenAsync(a, a.Admin.Token, 1280, 900);

        var rowB = page.Locator("#nodes tr[data-node='node-b']");
        await Assertions.Expect(page.Locator("#nodes tr[data-node='node-a'] td").First)
            .ToHaveTextAsync("node-a (this node)", new() { Timeout = ExpectTimeoutMs });
        await Assertions.Expect(rowB.Locator("td").Nth(1)).ToHaveTextAsync("live", new() { Timeout = ExpectTimeoutMs });
        await Assertions.Expect(page.Locator("#nodes tr.total td").Nth(1)).ToHaveTextAsync("2 live");
        await rowB.Locator("button", new() { HasText = "Drain" }).ClickAsync();
        await Wait.UntilAsync(() => b.Context.DrainAll, "node-b drained from node-a's page");
        await Assertions.Expect(rowB.Locator("td").Nth(1)).ToHaveTextAsync("draining",
            new() { Timeout = ExpectTimeoutMs });
        await Screenshots.SaveAsync(page, "dashboard-cluster.png");
        await rowB.Locator("button", new() { HasText = "Resume" }).ClickAsync();
        await Wait.UntilAsync(() => !b.Context.DrainAll, "node-b resumed");
    }

    /// <summary>Chromium from Debian, headless; each page logged in with a token.</summary>
    private sealed class Browser : IAsyncDisposable
    {
        private readonly IPlaywright _playwright;
        private readonly IBrowser _browser;

        private Browser(IPlaywright playwright, IBrowser browser)
        {
            _playwright = playwright;
            _browser = browser;
        }

        public static async Task<Browser> LaunchAsync()
        {
            Assertions.SetDefaultExpectTimeout(ExpectTimeoutMs); // a busy machine may take more than 5 s
            var playwright = await Playwright.CreateAsync();
            var browser = await playwright.Chromium.LaunchAsync(new()
            {
                ExecutablePath = BrowserFactAttribute.Chromium,
                Headless = true,
                Args = ["--no-sandbox"], // tests run as root
            });
            return new Browser(playwright, browser);
        }

        public async Task<IPage> OpenAsync(InProcessRelay relay, string token, int width, int height)
        {
            var page = await _browser.NewPageAsync(new() { ViewportSize = new() { Width = width, Height = height } });
            page.SetDefaultTimeout(ExpectTimeoutMs);
            await page.GotoAsync(relay.Admin.Url + "/");
            await page.FillAsync("#token", token);
            await page.ClickAsync("#login-form button");
            await Assertions.Expect(page.Locator("#app")).ToBeVisibleAsync(new() { Timeout = ExpectTimeoutMs });
            return page;
        }

        public async ValueTask DisposeAsync()
        {
            await _browser.DisposeAsync();
            _playwright.Dispose();
        }
    }

    private static class Screenshots
    {
        /// <summary>Where the screenshots go (README's copies in docs/ are taken from here).</summary>
        public static readonly string Directory =
            System.IO.Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "gray-dashboard")).FullName;

        public static async Task SaveAsync(IPage page, string name)
        {
            string path = Path.Combine(Directory, name);
            await page.ScreenshotAsync(new() { Path = path, FullPage = true });
            Assert.True(new FileInfo(path).Length > 10_000, $"{path} is too small to be a screenshot");
        }
    }
}

/// <summary>A fact that needs Chromium and PostgreSQL; skipped with the reason otherwise.</summary>
public sealed class BrowserAndPostgresFactAttribute : FactAttribute
{
    public BrowserAndPostgresFactAttribute()
    {
        Skip = new BrowserFactAttribute().Skip ?? PostgresServer.Missing();
    }
}
