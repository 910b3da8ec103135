// A logger that keeps what it is given, for tests that check what was logged and how often.
using Microsoft.Extensions.Logging;

namespace Gray.Tests.Harness;

public sealed class ListLogger : ILogger
{
    private readonly List<(LogLevel Level, string Message, Exception? Error)> _entries = [];

    /// <summary>A copy of the entries so far.</summary>
    public IReadOnlyList<(LogLevel Level, string Message, Exception? Error)> Entries
    {
        get { lock (_entries) return [.. _entries]; }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        lock (_entries) _entries.Add((logLevel, formatter(state, exception), exception));
    }
}
