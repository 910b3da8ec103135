// `gray config check|show`: validate a relay or agent file; print the effective relay settings.
using System.CommandLine;
using Gray.Hosting;
using Gray.Relay;

namespace Gray.Cli;

public static partial class GrayCommandLine
{
    private static Command ConfigCommand()
    {
        var command = new Command("config", "Check or show a relay configuration file.");
        var checkFile = new Argument<string>("FILE") { Description = "the YAML file" };
        var check = new Command("check",
            "Validate a relay or agent file (an agent file has tunnels:); each error names its line. " +
            "Exit 0 if valid, 2 if not.")
        {
            checkFile,
        };
        check.SetAction(result =>
        {
            string file = result.GetValue(checkFile)!;
            bool agentFile = File.Exists(file)
                && File.ReadLines(file).Any(l => l.StartsWith("tunnels:", StringComparison.Ordinal));
            if (agentFile)
            {
                var tunnels = AgentConfig.Load(file, KnownRelaysPath(file)); // throws ConfigException, exit 2
                Console.WriteLine($"{file}: valid agent file, tunnels {string.Join(", ", tunnels.Select(t => t.Id))}");
            }
            else
            {
                var errors = RelayConfigFile.Check(file);
                foreach (string error in errors) Console.Error.WriteLine(error);
                if (errors.Count > 0) return ExitCodes.Usage;
                Console.WriteLine($"{file}: valid");
            }

            return ExitCodes.Ok;
        });

        var showFile = new Argument<string?>("FILE")
        {
            Description = "the YAML file (default: none, only defaults)", Arity = ArgumentArity.ZeroOrOne,
        };
        var show = new Command("show",
            "Print the effective relay settings: defaults, then the file, then the environment.")
        {
            showFile,
        };
        show.SetAction(result =>
        {
            var options = new RelayOptions();
            if (result.GetValue(showFile) is { } file) RelayConfigFile.Apply(file, options);
            RelaySettings.ApplyEnvironment(options, Environment.GetEnvironmentVariable, Environment.CurrentDirectory);
            Console.WriteLine(RelayConfigDescription.Describe(options));
            return ExitCodes.Ok;
        });

        command.Subcommands.Add(check);
        command.Subcommands.Add(show);
        return command;
    }
}
