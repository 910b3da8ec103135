// Malformed configuration files never produce a stack trace: the example files, mutated (truncated,
// unclosed brackets, tabs, wrong types, huge values, binary junk), are either valid or refused with
// a message that names the file and the line.
using System.Text;
using System.Text.RegularExpressions;
using Gray.Cli;
using Gray.Hosting;
using Gray.Relay;
using Gray.Tests.Harness;

namespace Gray.Tests.Cli;

public class ConfigFuzzTests
{
    /// <summary>Mutations per example file; the seed makes every run the same.</summary>
    private const int MutationsPerFile = 400;

    private const int Seed = 12;

    private static readonly string[] Junk =
    [
        "[", "{", "]", "}", "\t", ": ", "- ", "&a", "*a", "!!binary", "'", "\"", "#", "|", ">", "%YAML 1.2",
        "[1, 2]", "{ a: b }", "yes", "-1", "0", "1e400", "99999999999999999999999", new string('9', 5000), "~", "\0",
        "\u00ff\u00fe",
    ];

    public static TheoryData<string> Examples => new() { "relay.yaml", "agent.yaml" };

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_mutation_of_an_example_file_is_valid_or_refused_with_its_line(string example)
    {
        string original = File.ReadAllText(Path.Combine(Repository.Root, "deploy", example))
            .Replace("/etc/gray/web.secret", "web.secret");
        string dir = Directory.CreateTempSubdirectory("gray-fuzz-").FullName;
        File.WriteAllText(Path.Combine(dir, "web.secret"), "a-secret-of-enough-length\n");
        var random = new Random(Seed);
        var failures = new List<string>();
        for (int i = 0; i < MutationsPerFile; i++)
        {
            string mutated = Mutate(original, random);
            string path = Path.Combine(dir, $"case{i}.yaml");
            File.WriteAllText(path, mutated);
            foreach (string problem in Check(path, example == "agent.yaml")) failures.Add($"case {i}: {problem}");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    /// <summary>What is wrong with how <paramref name="path"/> was refused; empty if it was valid or refused
    /// well.</summary>
    private static IEnumerable<string> Check(string path, bool agentFile)
    {
        var withLine = new Regex($"^{Regex.Escape(path)}:\\d+: ");
        List<string> errors;
        try
        {
            if (agentFile)
            {
                errors = [];
                try
                {
                    AgentConfig.Load(path, Path.Combine(Path.GetDirectoryName(path)!, "known_relays"));
                }
                catch (ConfigException error)
                {
                    errors.Add(error.Message);
                }
            }
            else
            {
                errors = RelayConfigFile.Check(path);
            }
        }
        catch (Exception error)
        {
            return [$"{error.GetType().Name}: {error.Message.Split('\n')[0]}"];
        }

        return errors.Where(e => !withLine.IsMatch(e)).Select(e => $"no line: {e}");
    }

    private static string Mutate(string text, Random random)
    {
        int at = random.Next(text.Length + 1);
        return random.Next(6) switch
        {
            0 => text[..at], // truncated
            1 => text[..at] + Junk[random.Next(Junk.Length)] + text[at..], // something inserted
            2 => text.Replace("  ", "\t"), // tabs for indentation
            3 => ReplaceValue(text, random, Junk[random.Next(Junk.Length)]), // a wrong type or a huge value
            4 => text[..at] + Encoding.Latin1.GetString(
                Enumerable.Range(0, 16).Select(_ => (byte)random.Next(256)).ToArray()) + text[at..],
            _ => text.Remove(at, Math.Min(random.Next(1, 40), text.Length - at)), // a piece cut out
        };
    }

    private static string ReplaceValue(string text, Random random, string value)
    {
        var values = Regex.Matches(text, @"(?m)(?<=:[ ]+)[^\s#{}\[\],][^#\n,}\]]*");
        if (values.Count == 0) return text;
        var chosen = values[random.Next(values.Count)];
        return text[..chosen.Index] + value + text[(chosen.Index + chosen.Length)..];
    }
}
