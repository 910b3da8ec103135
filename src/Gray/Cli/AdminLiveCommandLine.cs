// `gray admin top`, `events` and `token`: the live views and the control plane's tokens.
using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using Gray.Hosting;
using Gray.Relay.ControlPlane;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private static Command TopCommand()
    {
        var dir = DataDirOption();
        var count = new Option<int?>("--count")
        {
            Description = "stop after this many refreshes (default: until Ctrl+C)",
        };
        var top = new Command("top", "A live table of servers, agents, pool fill, pairs and bytes per second.")
        {
            dir, count,
        };
        top.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "top", async (admin, ct) =>
        {
            await TopView.RunAsync(admin, result.GetValue(count), ct);
            return "";
        }, ct));
        return top;
    }

    private static Command EventsCommand()
    {
        var dir = DataDirOption();
        var json = JsonOption();
        var count = new Option<int?>("--count") { Description = "stop after this many events (default: until Ctrl+C)" };
        var events = new Command("events",
            "Follow the relay's events: agents, pairs, refusals, reloads, drains.") { dir, json, count };
        events.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "events", async (admin, ct) =>
        {
            int seen = 0, most = result.GetValue(count) ?? int.MaxValue;
            try
            {
                await foreach (string line in admin.EventLinesAsync(ct))
                {
                    if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                    string data = line["data: ".Length..];
                    Console.WriteLine(result.GetValue(json) ? data : AdminText.Event(data));
                    if (++seen >= most) break;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }

            return seen < most && !ct.IsCancellationRequested ? "the relay ended the event stream" : "";
        }, ct));
        return events;
    }

    private static Command TokenCommand()
    {
        var token = new Command("token", "Create, list and revoke the control plane's bearer tokens.");

        var scope = new Option<string>("--scope")
        {
            Description = "read (status, metrics, events) or admin", Required = true,
        };
        var name = new Option<string?>("--name") { Description = "what the token is for (shown in listings)" };
        var createJson = JsonOption();
        var createDir = DataDirOption();
        var create = new Command("create", "Create a token; prints it once.") { scope, name, createJson, createDir };
        create.SetAction((result, ct) => AdminAsync(result.GetValue(createDir)!, "token create", async (admin, ct) =>
        {
            var created = await admin.SendAsync(HttpMethod.Post, "/api/v1/tokens",
                JsonContent.Create(new CreateTokenRequest(result.GetValue(scope)!, result.GetValue(name)),
                    ApiJson.Default.CreateTokenRequest), ApiJson.Default.CreatedTokenView, ct);
            return result.GetValue(createJson)
                ? JsonSerializer.Serialize(created, ApiJson.Default.CreatedTokenView)
                : $"id:    {created.Id}\nscope: {created.Scope}\ntoken: {created.Token}\n" +
                  "(the token is shown only once)";
        }, ct));

        var tokenId = new Argument<string>("TOKEN_ID") { Description = "the token's ID, from `gray admin token list`" };
        var revokeDir = DataDirOption();
        var revoke = new Command("revoke", "Revoke a token: requests with it are refused from now on.")
        {
            tokenId, revokeDir,
        };
        revoke.SetAction((result, ct) => AdminAsync(result.GetValue(revokeDir)!, "token revoke", async (admin, ct) =>
        {
            await admin.SendAsync(HttpMethod.Delete,
                $"/api/v1/tokens/{Uri.EscapeDataString(result.GetValue(tokenId)!)}", ct);
            return $"revoked {result.GetValue(tokenId)}";
        }, ct));

        var listJson = JsonOption();
        var listDir = DataDirOption();
        var list = new Command("list", "List tokens: ID, scope, name, age (never the token).") { listJson, listDir };
        list.SetAction((result, ct) => AdminAsync(result.GetValue(listDir)!, "token list", async (admin, ct) =>
        {
            var tokens = await admin.GetAsync("/api/v1/tokens", ApiJson.Default.ListTokenView, ct);
            return result.GetValue(listJson)
                ? JsonSerializer.Serialize(tokens, ApiJson.Default.ListTokenView)
                : string.Join('\n', new[] { $"{"ID",-12}  {"SCOPE",-5}  {"AGE",-6}  NAME" }.Concat(tokens.Select(t =>
                    $"{t.Id,-12}  {t.Scope,-5}  {AdminText.Age(DateTimeOffset.UtcNow - t.CreatedAt),-6}  {t.Name}")));
        }, ct));

        token.Subcommands.Add(create);
        token.Subcommands.Add(list);
        token.Subcommands.Add(revoke);
        return token;
    }
}
