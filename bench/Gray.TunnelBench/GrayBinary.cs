// Which gray the Gray setups run: by default the binary that README tells users to deploy
// (`dotnet publish`: a native binary), published once per run into the scratch
// directory; with --gray-dll, this build's gray.dll under `dotnet`.
using System.Runtime.InteropServices;

namespace Gray.TunnelBench;

internal sealed record GrayBinary(string Program, IReadOnlyList<string> Prefix, string Description)
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);

    public static GrayBinary BuildOutput { get; } =
        new("dotnet", [Path.Combine(AppContext.BaseDirectory, "gray.dll")],
            "this build's gray.dll under `dotnet` (--gray-dll)");

    /// <summary>gray's arguments behind the program's own.</summary>
    public string[] Arguments(params IEnumerable<string> args) => [.. Prefix, .. args];

    public static async Task<GrayBinary> PublishAsync(string scratch)
    {
        string output = Path.Combine(scratch, "gray-published");
        string project = Path.Combine(Repository.Root, "src", "Gray", "Gray.csproj");
        string[] args = ["publish", project, "-c", "Release", "-r", RuntimeInformation.RuntimeIdentifier,
            "-o", output, "--disable-build-servers", "-nodeReuse:false"];
        Console.Error.WriteLine($"# dotnet {string.Join(' ', args)}");
        var (exit, text) = await ChildProcess.RunAsync("dotnet", args, PublishTimeout);
        string program = Path.Combine(output, "gray");
        if (exit != 0 || !File.Exists(program))
            throw new BenchException($"dotnet publish of gray failed ({exit}):\n{text}");
        return new GrayBinary(program, [],
            "published as README says (`dotnet publish src/Gray -c Release -r " +
            $"{RuntimeInformation.RuntimeIdentifier}`: native binary)");
    }
}
