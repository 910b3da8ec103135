// A configuration file read into YAML's node model (no reflection, so it works in a native binary):
// walks its mappings and collects every error with the line it is on, so that one bad value does
// not hide the next.
using Gray.Hosting;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gray.Cli;

internal sealed class ConfigDocument
{
    private ConfigDocument(string path, YamlMappingNode? root)
    {
        Path = path;
        BaseDir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Root = root;
    }

    public string Path { get; }

    /// <summary>Relative paths in the file are relative to the file's folder.</summary>
    public string BaseDir { get; }

    /// <summary>The top-level mapping; null for an empty file or one that could not be read.</summary>
    public YamlMappingNode? Root { get; }

    public List<string> Errors { get; } = [];

    public static ConfigDocument Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            var unreadable = new ConfigDocument(path, null);
            unreadable.Errors.Add($"{path}: {error.Message}");
            return unreadable;
        }

        try
        {
            var stream = YamlReader.Load(text);
            if (stream.Documents is not [var document, ..]
                || document.RootNode is YamlScalarNode { Value: null or "" or "~" })
            {
                return new ConfigDocument(path, null);
            }

            if (document.RootNode is YamlMappingNode root) return new ConfigDocument(path, root);
            var wrong = new ConfigDocument(path, null);
            wrong.Error(document.RootNode, "expected settings (key: value lines)");
            return wrong;
        }
        catch (AnchorNotFoundException error)
            when (System.Text.RegularExpressions.Regex.Match(error.Message, "'([^']*)'") is { Success: true } anchor)
        {
            // An unquoted wildcard host (*.example.org) reads as an alias: say so, at its own line.
            int at = text.IndexOf("*" + anchor.Groups[1].Value, StringComparison.Ordinal);
            int line = at < 0 ? (int)error.Start.Line : text.AsSpan(0, at).Count('\n') + 1;
            var broken = new ConfigDocument(path, null);
            broken.Errors.Add($"{path}:{line}: '*{anchor.Groups[1].Value}' reads as a YAML alias; quote it " +
                $"(a wildcard host name: \"*{anchor.Groups[1].Value}\")");
            return broken;
        }
        catch (YamlException error)
        {
            var broken = new ConfigDocument(path, null);
            broken.Errors.Add($"{path}:{error.Start.Line}: {error.Message}");
            return broken;
        }
    }

    public void Error(YamlNode at, string message) => Errors.Add($"{Path}:{at.Start.Line}: {message}");

    /// <summary>
    /// Runs <paramref name="apply"/>; a ConfigException it throws becomes an error on <paramref name="at"/>'s line.
    /// </summary>
    public void Try(YamlNode at, Action apply)
    {
        try
        {
            apply();
        }
        catch (ConfigException error)
        {
            Error(at, error.Message);
        }
    }

    /// <summary>Throws every error at once; nothing if there is none.</summary>
    public void ThrowIfAny()
    {
        if (Errors.Count > 0) throw new ConfigException(string.Join(Environment.NewLine, Errors));
    }

    /// <summary>The entries of a mapping, keys as text.</summary>
    public static IEnumerable<(string Key, YamlNode KeyNode, YamlNode Value)> Entries(YamlMappingNode mapping) =>
        mapping.Children.Select(c => (c.Key is YamlScalarNode k ? k.Value ?? "" : c.Key.ToString(), c.Key, c.Value));

    /// <summary>A single value; null when it is empty (~, null, or nothing).</summary>
    public static string? Scalar(YamlNode node, string key) => node switch
    {
        YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" } => null,
        YamlScalarNode scalar => scalar.Value,
        _ => throw new ConfigException($"{key}: expected a single value"),
    };

    /// <summary>A list of single values ([a, b] or one "- a" line each); empty when the value is empty.</summary>
    public static List<string> List(YamlNode node, string key) => node switch
    {
        YamlSequenceNode sequence => sequence.Children.Select(item => Scalar(item, key) ?? "").ToList(),
        YamlScalarNode when Scalar(node, key) is null => [],
        _ => throw new ConfigException($"{key}: expected a list"),
    };

    /// <summary>A mapping (nested settings); null when the value is empty.</summary>
    public static YamlMappingNode? Mapping(YamlNode node, string key) => node switch
    {
        YamlMappingNode mapping => mapping,
        YamlScalarNode when Scalar(node, key) is null => null,
        _ => throw new ConfigException($"{key}: expected key: value settings"),
    };
}
