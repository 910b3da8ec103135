// The relay's data directory: owner-only permissions, and files written with mode 0600.
namespace Gray.Relay;

public static class DataDirectory
{
    public const UnixFileMode PrivateDirectory =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static string Ensure(string path)
    {
        string full = Path.GetFullPath(path);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(full);
        }
        else
        {
            Directory.CreateDirectory(full, PrivateDirectory);
            File.SetUnixFileMode(full, PrivateDirectory);
        }
        return full;
    }

    /// <summary>
    /// Holds the data directory for this relay until disposed (an advisory lock the kernel drops when the
    /// process ends): a second relay on the same directory would share its registry and overwrite its
    /// admin endpoint.
    /// </summary>
    public static FileStream Lock(string dataDir)
    {
        string path = Path.Combine(dataDir, "relay.lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new DataDirectoryInUseException(
                $"another relay is running on the data directory {dataDir} (it holds {path})");
        }
    }

    /// <summary>Writes a file readable by its owner only, replacing it atomically.</summary>
    public static void WritePrivate(string path, string contents)
    {
        string temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = PrivateFile;
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(contents);
        }

        File.Move(temporary, path, overwrite: true);
    }
}

/// <summary>The data directory is held by another relay.</summary>
public sealed class DataDirectoryInUseException(string message) : IOException(message);
