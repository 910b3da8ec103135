// Runs `gray` (the real program, from this test's output folder or published) as a child process and watches its
// output.
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Gray.Tests.Harness;

/// <summary>How gray is started: a program and the arguments that come before gray's own.</summary>
public sealed record GrayCommand(string Program, string[] Prefix)
{
    /// <summary>gray.dll in this test's output folder.</summary>
    public static readonly string BuildOutputDll = Path.Combine(AppContext.BaseDirectory, "gray.dll");

    /// <summary>`dotnet gray.dll` from this test's output folder.</summary>
    public static readonly GrayCommand BuildOutput = new("dotnet", [BuildOutputDll]);
}

public sealed class GrayProcess : IAsyncDisposable
{
    public const int SigKill = 9, SigTerm = 15, SigCont = 18, SigStop = 19;

    private readonly Process _process;
    private readonly object _gate = new();
    private readonly List<string> _lines = new();
    private int _disposed;
    private TaskCompletionSource _lineAdded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private GrayProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get { lock (_gate) return string.Join('\n', _lines); }
    }

    /// <summary>Runs gray on a pseudo-terminal (through script(1)), as a person at a console would.</summary>
    public static GrayProcess StartOnTerminal(IEnumerable<string> args)
    {
        string command = string.Join(
            ' ', new[] { "dotnet", GrayCommand.BuildOutputDll }.Concat(args).Select(a => $"'{a}'"));
        return Start("script", ["-q", "-e", "-f", "-c", command, "/dev/null"], environment: null);
    }

    public static GrayProcess Start(
        IEnumerable<string> args, IDictionary<string, string>? environment = null, string? workingDirectory = null,
        GrayCommand? command = null)
    {
        command ??= GrayCommand.BuildOutput;
        return Start(command.Program, [.. command.Prefix, .. args], environment, workingDirectory);
    }

    /// <summary>Runs gray under prlimit(1) with this many file descriptors, soft and hard.</summary>
    public static GrayProcess StartWithDescriptorLimit(int descriptors, IEnumerable<string> args) =>
        Start("prlimit", [$"--nofile={descriptors}:{descriptors}", "dotnet", GrayCommand.BuildOutputDll, .. args],
            environment: null);

    /// <summary>Runs gray under nohup(1): SIGHUP ignored from the start, as a parent may hand it down.</summary>
    public static GrayProcess StartUnderNohup(IEnumerable<string> args) =>
        Start("nohup", ["dotnet", GrayCommand.BuildOutputDll, .. args], environment: null);

    /// <summary>Any program, watched the same way (for namespace plumbing and helpers).</summary>
    public static GrayProcess StartProgram(string program, IEnumerable<string> args) =>
        Start(program, args, environment: null);

    public async Task SendLineAsync(string line)
    {
        await _process.StandardInput.WriteAsync(line + "\n");
        await _process.StandardInput.FlushAsync();
    }

    private static GrayProcess Start(string program, IEnumerable<string> args, IDictionary<string, string>? environment,
        string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory ?? "",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // not a terminal: the relay's console stays off
            UseShellExecute = false,
        };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        // Relays that run at once must not all take the control plane's default port.
        start.Environment["GRAY_HTTP_LISTEN"] = "127.0.0.1:0";
        if (environment is not null)
        {
            foreach (var (key, value) in environment) start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var gray = new GrayProcess(process);
        process.OutputDataReceived += (_, e) => gray.Add(e.Data);
        process.ErrorDataReceived += (_, e) => gray.Add(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return gray;
    }

    /// <summary>Runs `gray ARGS` to its end and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> args,
        IDictionary<string, string>? environment = null, TimeSpan? timeout = null, string? workingDirectory = null,
        GrayCommand? command = null)
    {
        await using var process = Start(args, environment, workingDirectory, command);
        int exitCode = await process.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return (exitCode, process.Output);
    }

    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        int seen = 0;
        while (true)
        {
            Task added;
            lock (_gate)
            {
                for (; seen < _lines.Count; seen++)
                {
                    if (match(_lines[seen])) return _lines[seen];
                }

                added = _lineAdded.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException(
                    $"no line for '{what}' from gray (test host pool: {ThreadPool.ThreadCount} threads, " +
                    $"{ThreadPool.PendingWorkItemCount} items waiting); output so far:\n{Output}");
            }
            if (_process.HasExited)
            {
                await Task.WhenAny(added, Task.Delay(200)); // let the output readers drain
                if (!added.IsCompleted)
                    throw new InvalidOperationException($"gray exited before '{what}'; output:\n{Output}");
                continue;
            }

            await Task.WhenAny(added, _process.WaitForExitAsync(), Task.Delay(left));
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"gray did not exit within {timeout.TotalSeconds} s; output:\n{Output}");
        }

        return _process.ExitCode;
    }

    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed");
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (!_process.HasExited)
        {
            kill(_process.Id, SigCont);
            kill(_process.Id, SigKill);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null) return;
        TaskCompletionSource added;
        lock (_gate)
        {
            _lines.Add(line);
            added = _lineAdded;
            _lineAdded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        added.SetResult();
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
