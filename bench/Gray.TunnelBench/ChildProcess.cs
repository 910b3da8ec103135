// A program the benchmark starts (relay, agent, haproxy, sshd, iperf3, the echo target): its output
// is kept for error messages, and it is killed with its process group when the benchmark ends.
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Gray.TunnelBench;

internal sealed partial class ChildProcess : IAsyncDisposable
{
    private const int SigTerm = 15;

    /// <summary>How long a child gets to exit after SIGTERM before SIGKILL.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    /// <summary>Lines of output kept of a long-running child (the last ones), for error messages.</summary>
    private const int KeptLines = 200;

    /// <summary>Lines kept of a program run to its end (iperf3's JSON report is long).</summary>
    private const int KeptLinesOfRun = 100_000;

    /// <summary>Children not yet disposed, so that an interrupted benchmark leaves none behind.</summary>
    private static readonly HashSet<ChildProcess> Live = new();

    private readonly Process _process;
    private readonly Queue<string> _lines = new();
    private TaskCompletionSource _lineAdded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly int _keptLines;

    private ChildProcess(Process process, string name, int keptLines)
    {
        _process = process;
        Name = name;
        _keptLines = keptLines;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get { lock (_lines) return string.Join('\n', _lines); }
    }

    public static ChildProcess Start(
        string name, string program, IEnumerable<string> args, IDictionary<string, string>? environment = null) =>
        Start(name, program, args, environment, KeptLines);

    /// <summary>This benchmark again, in a child role (<paramref name="flag"/>): the same native binary, or
    /// this assembly under dotnet.</summary>
    public static ChildProcess StartSelf(string name, string flag)
    {
        string self = Environment.ProcessPath!;
        string[] args = Path.GetFileNameWithoutExtension(self) == "dotnet"
            ? [typeof(ChildProcess).Assembly.Location, flag]
            : [flag];
        return Start(name, self, args);
    }

    private static ChildProcess Start(
        string name, string program, IEnumerable<string> args, IDictionary<string, string>? environment, int keptLines)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // not a terminal: gray's console stays off
            UseShellExecute = false,
        };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (environment is not null)
        {
            foreach (var (key, value) in environment) start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new ChildProcess(process, name, keptLines);
        process.OutputDataReceived += (_, e) => child.Add(e.Data);
        process.ErrorDataReceived += (_, e) => child.Add(e.Data);
        if (!process.Start()) throw new BenchException($"{name}: could not start {program}");
        lock (Live) Live.Add(child);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a program to its end; its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string program, IEnumerable<string> args, TimeSpan timeout)
    {
        await using var child = Start(Path.GetFileName(program), program, args, null, KeptLinesOfRun);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await child._process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new BenchException($"{program} did not finish within {timeout.TotalSeconds:0} s:\n{child.Output}");
        }

        child._process.WaitForExit(); // drains the output readers
        return (child._process.ExitCode, child.Output);
    }

    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task added;
            lock (_lines)
            {
                foreach (string line in _lines)
                {
                    if (match(line)) return line;
                }

                added = _lineAdded.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                throw new BenchException($"{Name}: no line for '{what}' within {timeout.TotalSeconds:0} s:\n{Output}");
            if (_process.HasExited)
            {
                await Task.WhenAny(added, Task.Delay(200));
                if (!added.IsCompleted)
                    throw new BenchException($"{Name} exited ({_process.ExitCode}) before '{what}':\n{Output}");
                continue;
            }

            await Task.WhenAny(added, _process.WaitForExitAsync(), Task.Delay(left));
        }
    }

    /// <summary>Fails with the child's output if it has exited.</summary>
    public void EnsureRunning()
    {
        if (_process.HasExited) throw new BenchException($"{Name} exited ({_process.ExitCode}):\n{Output}");
    }

    private void Add(string? line)
    {
        if (line is null) return;
        TaskCompletionSource added;
        lock (_lines)
        {
            _lines.Enqueue(line);
            if (_lines.Count > _keptLines) _lines.Dequeue();
            added = _lineAdded;
            _lineAdded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        added.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = Kill(_process.Id, SigTerm);
                using var cts = new CancellationTokenSource(StopGrace);
                try
                {
                    await _process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }

        lock (Live) Live.Remove(this);
        _process.Dispose();
    }

    /// <summary>Kills every child still running, with its descendants (on interrupt and at the end).</summary>
    public static void KillAll()
    {
        ChildProcess[] children;
        lock (Live) children = Live.ToArray();
        foreach (var child in children)
        {
            try
            {
                if (!child._process.HasExited) child._process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
