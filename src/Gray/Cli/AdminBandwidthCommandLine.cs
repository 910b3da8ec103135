// `gray admin bandwidth ID …`: a server's bandwidth limits through the API, which win over the relay file's.
using System.CommandLine;
using System.Net.Http.Json;
using Gray.Relay.ControlPlane;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private static Command BandwidthCommand()
    {
        var id = new Argument<string>("ID") { Description = "server ID" };
        Option<string?> Rate(string name, string what) => new(name) { Description = $"{what} (10MB, 512KB, off)" };
        var inRate = Rate("--in", "all clients to the service, per second");
        var outRate = Rate("--out", "the service to all clients, per second");
        var perClientIn = Rate("--per-client-in", "each client address to the service, per second");
        var perClientOut = Rate("--per-client-out", "the service to each client address, per second");
        var clear = new Option<bool>("--clear") { Description = "drop these limits: the relay file's apply again" };
        var dir = DataDirOption();
        var command = new Command("bandwidth",
            "Limit a server's bandwidth at once, running pairs included; rates not given are unlimited.")
        {
            id, inRate, outRate, perClientIn, perClientOut, clear, dir,
        };
        command.SetAction((result, ct) => AdminAsync(result.GetValue(dir)!, "bandwidth", async (admin, ct) =>
        {
            long Get(Option<string?> option) => result.GetValue(option) is { } text
                ? BandwidthSetting.ParseRate(text, option.Name) : 0;
            string path = $"/api/v1/servers/{Uri.EscapeDataString(result.GetValue(id)!)}/bandwidth";
            var rules = result.GetValue(clear)
                ? await admin.SendAsync(HttpMethod.Delete, path, null, ApiJson.Default.RulesView, ct)
                : await admin.SendAsync(HttpMethod.Put, path, JsonContent.Create(
                    new BandwidthView(Get(inRate), Get(outRate), Get(perClientIn), Get(perClientOut)),
                    ApiJson.Default.BandwidthView), ApiJson.Default.RulesView, ct);
            return $"{result.GetValue(id)}: {AdminText.Bandwidth(rules.Bandwidth)}" +
                (rules.BandwidthFromApi ? "" : " (from the relay file)");
        }, ct));
        return command;
    }
}
