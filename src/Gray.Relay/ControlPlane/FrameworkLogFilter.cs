// ASP.NET Core logs every request at Information, unauthenticated ones included: a client could fill
// the journal. Its lines below Warning are dropped; Gray's own lines pass as configured.
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gray.Relay.ControlPlane;

internal sealed class FrameworkLogFilter(ILoggerFactory inner) : ILoggerFactory
{
    /// <summary>Least level kept from the framework's own categories.</summary>
    private const LogLevel FrameworkMinimum = LogLevel.Warning;

    public ILogger CreateLogger(string categoryName) =>
        // The embedded host's start failure is the relay's to report, once and plainly.
        categoryName.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal) ? NullLogger.Instance
        : categoryName.StartsWith("Microsoft.", StringComparison.Ordinal)
            ? new AtLeast(inner.CreateLogger(categoryName))
            : inner.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The inner factory belongs to the relay's host.
    }

    private sealed class AtLeast(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= FrameworkMinimum && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= FrameworkMinimum) inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
