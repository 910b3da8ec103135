// The one way configuration files are parsed. YamlDotNet's scanner can fail on malformed input with
// an exception that is not a YamlException and carries no position; here every parse failure becomes
// a YamlException at the last place the parser reached, so callers can name the line.
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace Gray.Cli;

internal static class YamlReader
{
    /// <summary>The document tree of <paramref name="text"/>.</summary>
    public static YamlStream Load(string text)
    {
        var stream = new YamlStream();
        stream.Load(new PositionKeepingParser(text));
        return stream;
    }

    /// <summary><paramref name="text"/> read into a <typeparamref name="T"/>.</summary>
    public static T? Deserialize<T>(IDeserializer deserializer, string text) =>
        deserializer.Deserialize<T?>(new PositionKeepingParser(text));

    /// <summary>
    /// <paramref name="message"/> ("FILE: setting.path: reason", or "setting.path: reason") with the line
    /// of the setting it names in <paramref name="text"/>, the already parsed file: the deepest key of
    /// that path found, or line 1 for a setting that is missing.
    /// </summary>
    public static string WithLine(string message, string path, string text)
    {
        string rest = message.StartsWith(path + ":", StringComparison.Ordinal) ? message[(path.Length + 1)..].TrimStart() : message;
        if (rest.Length > 0 && char.IsDigit(rest[0])) return message; // it has its line already
        long line = 1;
        int colon = rest.IndexOf(": ", StringComparison.Ordinal);
        if (colon > 0 && Load(text).Documents is [var document, ..] && document.RootNode is YamlMappingNode root)
        {
            YamlNode node = root;
            foreach (string key in rest[..colon].Split('.'))
            {
                if (node is not YamlMappingNode mapping) break;
                var entry = mapping.Children.FirstOrDefault(c => c.Key is YamlScalarNode k && k.Value == key);
                if (entry.Key is null) break;
                line = entry.Key.Start.Line;
                node = entry.Value;
            }
        }

        return $"{path}:{line}: {rest}";
    }

    private sealed class PositionKeepingParser(string text) : IParser
    {
        private readonly Parser _inner = new(new StringReader(text));
        private Mark _reached = Mark.Empty;

        public ParsingEvent? Current => _inner.Current;

        public bool MoveNext()
        {
            try
            {
                bool moved = _inner.MoveNext();
                if (_inner.Current is { } current) _reached = current.End;
                return moved;
            }
            catch (Exception error) when (error is not YamlException)
            {
                // The scanner's own message ("Operation is not valid…") says nothing to a user.
                throw new YamlException(_reached, _reached, "the YAML cannot be read past this point");
            }
        }
    }
}
