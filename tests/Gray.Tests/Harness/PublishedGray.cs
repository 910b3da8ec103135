// gray published as README says (a native binary, compiled ahead of time), once per test run, for
// tests of the binary that users deploy.
using System.Runtime.InteropServices;

namespace Gray.Tests.Harness;

public static class PublishedGray
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(10);

    private static readonly Lazy<Task<GrayCommand>> s_published = new(PublishAsync);

    public static Task<GrayCommand> GetAsync() => s_published.Value;

    private static async Task<GrayCommand> PublishAsync()
    {
        string output = Directory.CreateTempSubdirectory("gray-published-").FullName;
        string project = Path.Combine(Repository.Root, "src", "Gray", "Gray.csproj");
        // Niced: the other test collections keep their deadlines while this compiles.
        await using var publish =
            GrayProcess.StartProgram("nice", ["-n", "15", "dotnet", "publish", project, "-c", "Release",
            "-r", RuntimeInformation.RuntimeIdentifier, "-o", output,
            "--disable-build-servers", "-nodeReuse:false"]);
        int exitCode = await publish.WaitForExitAsync(PublishTimeout);
        Assert.True(exitCode == 0, $"dotnet publish failed ({exitCode}):\n{publish.Output}");
        string program = Path.Combine(output, "gray");
        Assert.True(File.Exists(program), $"no {program} after dotnet publish:\n{publish.Output}");
        return new GrayCommand(program, []);
    }
}
