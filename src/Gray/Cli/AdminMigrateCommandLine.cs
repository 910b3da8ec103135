// `gray admin migrate --from sqlite:PATH --to postgres://…`: a single relay's registry copied into a
// cluster's. Offline: it reads the files and the database, not a running relay.
using System.CommandLine;
using Gray.Hosting;
using Gray.Relay;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private static Command MigrateCommand()
    {
        var from = new Option<string>("--from")
        {
            Description = "the registry to copy: sqlite:PATH (a relay's registry.db)", Required = true,
        };
        var to = new Option<string>("--to")
        {
            Description = "the empty registry to fill: postgres://USER@HOST:PORT/DATABASE, or a connection string",
            Required = true,
        };
        var command = new Command("migrate",
            "Copy a registry (servers, secrets, ports, names, limits, tokens) into another, empty one; run it " +
            "with the relay stopped.")
        {
            from, to,
        };
        command.SetAction(result =>
        {
            try
            {
                var (servers, tokens) = RegistryCopy.Copy(result.GetValue(from)!, result.GetValue(to)!,
                    Environment.CurrentDirectory);
                Console.WriteLine($"copied {servers} servers and {tokens} tokens");
                return ExitCodes.Ok;
            }
            catch (Exception error) when (error is RegistryException or ConfigException)
            {
                Console.Error.WriteLine($"gray admin migrate: {error.Message}");
                return ExitCodes.Usage;
            }
        });
        return command;
    }
}
