// Small helpers the examples share: command-line options, stdin lines that stop on EOF or Ctrl+C,
// and a one-line console logger for the library's own messages (reconnects, failed handshakes...).
using System.Net;
using Microsoft.Extensions.Logging;

/// <summary>Positional arguments plus "--name value" options; names are case-insensitive.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _named = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _positional = [];

    public Args(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
                _named[args[i][2..]] = args[++i];
            else if (args[i].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"{args[i]} needs a value.");
            else _positional.Add(args[i]);
        }
    }

    /// <summary>The option "--name", else positional argument <paramref name="position"/>, else null.</summary>
    public string? Get(string name, int position = -1) =>
        _named.GetValueOrDefault(name)
            ?? (position >= 0 && position < _positional.Count ? _positional[position] : null);

    public string Get(string name, int position, string fallback) => Get(name, position) ?? fallback;

    public int GetInt(string name, int position, int fallback) => Get(name, position) is { } s
        ? int.Parse(s) : fallback;

    /// <summary>"[address] [port]" or "--address A --port P".</summary>
    public IPEndPoint EndPoint(string defaultAddress, int defaultPort) =>
        new(IPAddress.Parse(Get("address", 0, defaultAddress)), GetInt("port", 1, defaultPort));
}

internal static class ConsoleInput
{
    /// <summary>Cancelled by Ctrl+C (which then no longer kills the process at once).</summary>
    public static CancellationTokenSource CancelOnCtrlC()
    {
        var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        return stop;
    }

    /// <summary>The next line of stdin; null at EOF or when <paramref name="stop"/> is cancelled.</summary>
    public static async Task<string?> ReadLineAsync(CancellationToken stop)
    {
        try
        {
            // Console.In reads synchronously, so read on the pool and stop waiting on cancellation.
            return await Task.Run(Console.ReadLine, stop).WaitAsync(stop);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}

/// <summary>Writes the library's log messages to stderr, one line each, from <paramref name="minimum"/> up.</summary>
internal sealed class ConsoleLog(LogLevel minimum = LogLevel.Information) : ILoggerFactory, ILogger
{
    public ILogger CreateLogger(string categoryName) => this;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        string cause = exception is null ? "" : $" ({exception.GetBaseException().Message})";
        Console.Error.WriteLine($"[{logLevel}] {formatter(state, exception)}{cause}");
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }
}
