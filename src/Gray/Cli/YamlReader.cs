// The one way configuration files are parsed. YamlDotNet's scanner can fail on malformed input with
// an exception that is not a YamlException and carries no position; here every parse failure becomes
// a YamlException at the last place the parser reached, so callers can name the line.
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

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
