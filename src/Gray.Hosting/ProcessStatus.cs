// What a hosted relay or agent reports to the process that hosts it: its exit code, and where
// human-readable lines go. One instance per host, so several hosts can share a process.
using Microsoft.Extensions.Logging;

namespace Gray.Hosting;

/// <summary>The exit code a host ends with (ExitCodes); the last service to set it wins.</summary>
public sealed class ExitStatus
{
    private int _code = ExitCodes.Ok;

    public int Code
    {
        get => Volatile.Read(ref _code);
        set => Volatile.Write(ref _code, value);
    }
}

/// <summary>
/// The host's logging switches: the least important level written (a configuration reload may
/// change it, unless the operator pinned it, e.g. with GRAY_LOG_LEVEL), and whether logs are JSON
/// lines, in which case human-readable lines go to <see cref="HumanOutput"/> (standard error).
/// </summary>
public sealed class LogControl(LogLevel minimumLevel = LogLevel.Information, bool pinned = false,
    bool jsonLines = false, TextWriter? humanOutput = null)
{
    private volatile int _minimumLevel = (int)minimumLevel;

    public LogLevel MinimumLevel => (LogLevel)_minimumLevel;

    public bool JsonLines { get; } = jsonLines;

    /// <summary>Standard output, or standard error when standard output carries JSON log lines.</summary>
    public TextWriter HumanOutput { get; } = humanOutput ?? (jsonLines ? Console.Error : Console.Out);

    /// <summary>A level from a configuration file; ignored when the level was pinned.</summary>
    public void ApplyConfigured(LogLevel level)
    {
        if (!pinned) _minimumLevel = (int)level;
    }

    public bool IsEnabled(LogLevel level) => level >= MinimumLevel;
}
