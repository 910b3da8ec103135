// Gives every line of a component (Gray.Net's listeners and sessions of one server, say) a scope,
// such as the server ID, that the library itself does not know.
using Microsoft.Extensions.Logging;

namespace Gray.Hosting.Telemetry;

public sealed class ScopedLoggerFactory(ILoggerFactory inner, LogScope scope) : ILoggerFactory
{
    // Gray.Net asks for a logger per connection; one per category (a type name: a bounded set) is enough.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ILogger> _loggers = new();

    public ILogger CreateLogger(string categoryName) =>
        _loggers.TryGetValue(categoryName, out var logger)
            ? logger
            : _loggers.GetOrAdd(categoryName, new ScopedLogger(inner.CreateLogger(categoryName), scope));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The inner factory belongs to the host.
    }

    private sealed class ScopedLogger(ILogger inner, LogScope scope) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel)) return;
            using (inner.BeginScope(scope))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}

/// <summary>One named value as a logging scope: structured for JSON, "Name:value" as text.</summary>
public sealed class LogScope(string name, object value) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new(name, value) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"{name}:{value}";
}
