// The registry's SQLite is the system's libsqlite3 (Debian's and Ubuntu's libsqlite3-0), bound once
// before the first connection: the native binary then needs no library of its own beside it.
using System.Reflection;
using System.Runtime.InteropServices;

namespace Gray.Relay;

internal static class SqliteLibrary
{
    /// <summary>The library name SQLitePCLRaw's provider imports from.</summary>
    private const string ImportName = "sqlite3";

    /// <summary>The runtime library's soname first: the unversioned name exists only with the -dev package.</summary>
    private static readonly string[] Candidates = ["libsqlite3.so.0", "libsqlite3.so", "libsqlite3.dylib", "sqlite3"];

    private static readonly Lazy<bool> s_bound = new(Bind, LazyThreadSafetyMode.ExecutionAndPublication);

    public static void EnsureBound() => _ = s_bound.Value;

    private static bool Bind()
    {
        NativeLibrary.SetDllImportResolver(typeof(SQLitePCL.SQLite3Provider_sqlite3).Assembly, Resolve);
        SQLitePCL.raw.SetProvider(new SQLitePCL.SQLite3Provider_sqlite3());
        return true;
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != ImportName) return 0;
        foreach (string candidate in Candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out nint handle)) return handle;
        }

        throw new DllNotFoundException("SQLite is missing: install the libsqlite3-0 package");
    }
}
