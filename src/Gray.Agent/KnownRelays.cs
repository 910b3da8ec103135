// Trust on first use, as ssh's known_hosts: the first fingerprint seen for a relay is recorded,
// and a different one later is refused.
namespace Gray.Agent;

public static class KnownRelays
{
    public static string? Find(string path, string relay)
    {
        if (!File.Exists(path)) return null;
        foreach (string line in File.ReadLines(path))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && string.Equals(parts[0], relay, StringComparison.OrdinalIgnoreCase))
            {
                return parts[1];
            }
        }

        return null;
    }

    public static void Add(string path, string relay, string fingerprint)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.AppendAllText(path, $"{relay} {fingerprint}\n");
    }
}
