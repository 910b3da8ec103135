// The layers point one way (docs/architecture.md): sockets ← protocol ← hosting ← relay / agent ← CLI.
// A lower assembly that references a higher one, or a library that keeps process-wide mutable state
// or reads the environment, fails here.
using System.Reflection;
using System.Runtime.CompilerServices;
using Gray.Tests.Harness;

namespace Gray.Tests.Architecture;

public class LayerTests
{
    /// <summary>Each Gray assembly and the Gray assemblies it may reference; anything else is a violation.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Gray.Net"] = [],
        ["Gray.Protocol"] = ["Gray.Net"],
        ["Gray.Hosting"] = ["Gray.Net"],
        ["Gray.Relay"] = ["Gray.Net", "Gray.Protocol", "Gray.Hosting"],
        ["Gray.Agent"] = ["Gray.Net", "Gray.Protocol", "Gray.Hosting"],
        ["gray"] = ["Gray.Net", "Gray.Protocol", "Gray.Hosting", "Gray.Relay", "Gray.Agent"],
    };

    /// <summary>The libraries: everything but the CLI, which is the composition root.</summary>
    private static readonly string[] Libraries =
        ["Gray.Net", "Gray.Protocol", "Gray.Hosting", "Gray.Relay", "Gray.Agent"];

    /// <summary>Static fields that may change, each with why it is no shared setting or behaviour.</summary>
    private static readonly string[] MutableStaticsAllowed =
    [
        "Gray.Net.TcpConnection.s_lastId", // numbers connections uniquely in the process, as Kestrel's connection IDs
    ];

    private static Assembly Load(string name) => Assembly.Load(new AssemblyName(name));

    [Fact]
    public void Every_assembly_references_only_the_layers_below_it()
    {
        var violations = new List<string>();
        foreach (var (name, allowed) in Allowed)
        {
            foreach (var reference in Load(name).GetReferencedAssemblies())
            {
                bool gray = reference.Name!.StartsWith("Gray.", StringComparison.Ordinal) || reference.Name == "gray";
                if (gray && !allowed.Contains(reference.Name)) violations.Add($"{name} → {reference.Name}");
            }
        }

        Assert.Empty(violations);
    }

    [Fact]
    public void Every_assembly_under_src_is_in_the_layer_map()
    {
        var projects = Directory.GetDirectories(Path.Combine(Repository.Root, "src")).Select(Path.GetFileName).ToList();
        Assert.Equal(Allowed.Count, projects.Count); // a new project must be placed in a layer here
    }

    [Fact]
    public void No_library_keeps_process_wide_mutable_state()
    {
        const BindingFlags Statics =
            BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        var mutable = Libraries.Select(Load).SelectMany(a => a.GetTypes())
            .Where(t => !t.IsDefined(typeof(CompilerGeneratedAttribute)) && !t.Name.StartsWith('<'))
            .SelectMany(t => t.GetFields(Statics).Select(f => (Type: t, Field: f)))
            .Where(x => !x.Field.IsInitOnly && !x.Field.IsLiteral
                && !x.Field.Name.Contains("<>", StringComparison.Ordinal))
            .Select(x => $"{x.Type.FullName}.{x.Field.Name}")
            .Except(MutableStaticsAllowed)
            .ToList();
        Assert.True(mutable.Count == 0, "mutable statics: " + string.Join(", ", mutable));
    }

    [Fact]
    public void No_library_reads_the_environment()
    {
        // Settings come in through options objects; only the CLI (src/Gray) reads GRAY_* variables.
        var readers = Libraries
            .SelectMany(name => Directory.EnumerateFiles(
                Path.Combine(Repository.Root, "src", name), "*.cs", SearchOption.AllDirectories))
            .Where(file => !file.Contains(
                $"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(
                file => File.ReadAllText(file).Contains("Environment.GetEnvironmentVariable", StringComparison.Ordinal))
            .Select(file => Path.GetRelativePath(Repository.Root, file))
            .ToList();
        Assert.True(readers.Count == 0, "environment reads: " + string.Join(", ", readers));
    }
}
