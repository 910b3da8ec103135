// Calls back when a configuration should be read again: on SIGHUP, and when its file changes
// (debounced, since editors write a file in several steps).
using System.Runtime.InteropServices;

namespace Gray.Hosting;

public sealed class ReloadTrigger : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// How often the file's time and size are also checked: inotify instances are a per-user limit
    /// (128 by default) and a watcher that could not get one would never fire.
    /// </summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly Timer _debounce;
    private FileSystemWatcher? _watcher;
    private readonly PosixSignalRegistration? _hangup;
    private readonly Timer? _poll;
    private (DateTime Written, long Length) _seen;

    /// <summary>True if SIGHUP came ignored from the parent (nohup) and was taken back to reload.</summary>
    public bool HangupWasIgnored { get; }

    /// <summary><paramref name="reload"/> gets what triggered it ("SIGHUP", "the file changed").</summary>
    public ReloadTrigger(string? path, Action<string> reload)
    {
        _debounce = new Timer(_ => reload("the file changed"));
        if (!OperatingSystem.IsWindows())
        {
            // Inherited ignored (nohup), SIGHUP would get no handler below; a SIGHUP in the instant
            // between the two ends the process, as it would any process not yet registered.
            HangupWasIgnored = HangupSignal.TakeBackIfIgnored();
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP reloads; it does not stop the process
                ThreadPool.QueueUserWorkItem(_ => reload("SIGHUP"));
            });
        }

        if (path is null) return;
        string full = Path.GetFullPath(path);
        _seen = Stamp(full);
        _poll = new Timer(_ =>
        {
            var now = Stamp(full);
            if (now == _seen) return;
            _seen = now;
            _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
        }, null, PollInterval, PollInterval);
        try
        {
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size,
            };
            _watcher.Changed += (_, _) => _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
            _watcher.Created += (_, _) => _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
            _watcher.Renamed += (_, _) => _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
            _watcher.EnableRaisingEvents = true;
        }
        catch (IOException)
        {
            // Out of inotify instances: the poll above still notices changes.
            _watcher?.Dispose();
            _watcher = null;
        }
    }

    private static (DateTime, long) Stamp(string path)
    {
        try
        {
            var file = new FileInfo(path);
            return file.Exists ? (file.LastWriteTimeUtc, file.Length) : (DateTime.MinValue, -1);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return (DateTime.MinValue, -2); // unreadable now: a change, once it is readable again
        }
    }

    public void Dispose()
    {
        _poll?.Dispose();
        _hangup?.Dispose();
        _watcher?.Dispose();
        _debounce.Dispose();
    }
}
