// Where the repository is, for tests that read its files or build from it.
using System.Runtime.CompilerServices;

namespace Gray.Testing;

public static class Repository
{
    /// <summary>
    /// The folder holding Gray.slnx: found from this source file if its path is real (`dotnet test
    /// --artifacts-path` puts the binary elsewhere), else from the test binary (a build that maps source paths).
    /// </summary>
    public static string Root => Find();

    private static string Find([CallerFilePath] string source = "")
    {
        string? root = Directory.Exists(Path.GetDirectoryName(source))
            ? Path.GetDirectoryName(source) : AppContext.BaseDirectory;
        while (root is not null && !File.Exists(Path.Combine(root, "Gray.slnx"))) root = Path.GetDirectoryName(root);
        return root ?? throw new DirectoryNotFoundException("repository root");
    }
}
