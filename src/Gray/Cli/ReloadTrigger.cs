// Calls back when a configuration should be read again: on SIGHUP, and when its file changes
// (debounced, since editors write a file in several steps).
using System.Runtime.InteropServices;

namespace Gray.Cli;

internal sealed class ReloadTrigger : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);

    private readonly Timer _debounce;
    private readonly FileSystemWatcher? _watcher;
    private readonly PosixSignalRegistration? _hangup;

    /// <summary><paramref name="reload"/> gets what triggered it ("SIGHUP", "the file changed").</summary>
    public ReloadTrigger(string? path, Action<string> reload)
    {
        _debounce = new Timer(_ => reload("the file changed"));
        if (!OperatingSystem.IsWindows())
        {
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP reloads; it does not stop the process
                ThreadPool.QueueUserWorkItem(_ => reload("SIGHUP"));
            });
        }

        if (path is null) return;
        string full = Path.GetFullPath(path);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size,
        };
        _watcher.Changed += (_, _) => _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
        _watcher.Created += (_, _) => _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
        _watcher.Renamed += (_, _) => _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
        _watcher.EnableRaisingEvents = true;
    }

    public void Dispose()
    {
        _hangup?.Dispose();
        _watcher?.Dispose();
        _debounce.Dispose();
    }
}
