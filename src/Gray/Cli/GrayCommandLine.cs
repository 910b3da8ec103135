// The command line (a contract: see the README): relay, agent and admin, with System.CommandLine.
using System.CommandLine;
using Gray.Hosting;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private const string DefaultDataDir = "./gray-data";

    /// <summary>Read when --config is not given and the file exists (one per role).</summary>
    private const string DefaultConfigFile = "gray.yaml";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is ["--version"])
        {
            Console.WriteLine(LongVersion());
            return ExitCodes.Ok;
        }

        try
        {
            DotEnv.Load(Path.Combine(Environment.CurrentDirectory, ".env")); // never overrides what is set
        }
        catch (ConfigException error)
        {
            Console.Error.WriteLine($"gray: {error.Message}");
            return ExitCodes.Usage;
        }

        var root = new RootCommand("Gray: offer a TCP service from a private (gray) address through a public relay.")
        {
            RelayCommand(),
            AgentCommand(),
            AdminCommand(),
            ConfigCommand(),
        };
        try
        {
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                foreach (var error in parsed.Errors) Console.Error.WriteLine($"gray: {error.Message}");
                return ExitCodes.Usage;
            }

            // Signals belong to the Generic Host (graceful stop); errors to the handlers below.
            var invocation = new InvocationConfiguration
            {
                EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null,
            };
            return await parsed.InvokeAsync(invocation).ConfigureAwait(false);
        }
        catch (ConfigException error)
        {
            Console.Error.WriteLine($"gray: {error.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception error)
        {
            Console.Error.WriteLine($"gray: unexpected error: {error}");
            return ExitCodes.Failure;
        }
    }

    /// <summary>Version, git commit and build date.</summary>
    public static string LongVersion()
    {
        var assembly = typeof(GrayCommandLine).Assembly;
        string informational = assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
                ?? "0.0.0";
        string[] parts = informational.Split('+', 2);
        string commit = parts.Length == 2 ? parts[1][..Math.Min(12, parts[1].Length)] : "unknown";
        string built = assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "BuildDate")?.Value
                ?? "unknown";
        return $"gray {parts[0]} (commit {commit}, built {built})";
    }

    /// <summary>GRAY_KNOWN_RELAYS, else ~/.config/gray/known_relays.</summary>
    private static string KnownRelaysPath(string? configFile = null) =>
        KnownRelaysLocation.Resolve(Environment.GetEnvironmentVariable, configFile);

    private static Option<string> LogFormatOption() =>
        new("--log-format")
        {
            Description = "text (default) or json: one JSON object per line", DefaultValueFactory = _ => "text",
        };

    private static Option<string?> MetricsOption() =>
        new("--metrics") { Description = "serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464)" };

    private static Option<bool> JsonOption() => new("--json") { Description = "print JSON" };

    private static Option<string> DataDirOption() =>
        new("--data-dir")
        {
            Description = $"the relay's data directory (default GRAY_DATA_DIR, else {DefaultDataDir})",
            DefaultValueFactory = _ =>
                Environment.GetEnvironmentVariable("GRAY_DATA_DIR") is { Length: > 0 } dir ? dir : DefaultDataDir,
        };

}
