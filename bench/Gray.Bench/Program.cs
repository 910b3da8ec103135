// Gray.Bench: CppServer-style performance program for Gray.Net.
//
//   dotnet run -c Release --project bench/Gray.Bench -- echo|multicast --transport tcp|tls|udp -c CLIENTS
//       -m MESSAGES -s SIZE -z SECONDS
//
// Server and clients run in this process on 127.0.0.1. The report goes to stdout as `Name: value` lines
// in the format of CppServer's performance programs; extra facts (CPU time, allocations, drops) go to
// stderr as lines starting with '#'. GRAY_BENCH_ALLOC_TRACE=1 adds the types that were allocated (sampled).
using System.Diagnostics;
using System.Globalization;
using Gray.Bench;

BenchOptions? options = BenchOptions.Parse(args, out string? error, out bool help);
if (help)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

if (options is null)
{
    Console.Error.WriteLine($"Gray.Bench: {error}");
    Console.Error.WriteLine();
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var shared = new Shared(options);
IBenchmark benchmark = options.Transport == Transport.Udp
    ? new UdpBenchmark(shared)
    : new TcpBenchmark(shared, tls: options.Transport == Transport.Tls);

try
{
    using var setUpDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
    await benchmark.SetUpAsync(setUpDeadline.Token);
}
catch (Exception setUpError)
{
    Console.Error.WriteLine($"Gray.Bench: set-up failed: {setUpError.GetType().Name}: {setUpError.Message}");
    await TearDownAsync(benchmark);
    return 1;
}

var output = Console.Out;
var invariant = CultureInfo.InvariantCulture;
bool echo = options.Scenario == Scenario.Echo;
output.WriteLine($"Transport: {options.Transport.ToString().ToLowerInvariant()}");
output.WriteLine("Server address: 127.0.0.1");
output.WriteLine($"Server port: {benchmark.Port}");
output.WriteLine($"Working clients: {options.Clients}");
if (echo) output.WriteLine($"Messages in flight: {options.Messages}");
output.WriteLine($"Message size: {options.Size}");
output.WriteLine($"Seconds: {options.Seconds}");
output.Flush();

// Start from a clean heap, so that the GC counts below belong to the run.
GC.Collect();
GC.WaitForPendingFinalizers();
GC.Collect();
using var process = Process.GetCurrentProcess();
process.Refresh();
TimeSpan user0 = process.UserProcessorTime, system0 = process.PrivilegedProcessorTime;
long allocated0 = GC.GetTotalAllocatedBytes(precise: true);
var machine0 = MachineCpu.Read();
int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);

using var allocationTrace = AllocationTrace.FromEnvironment();
var clock = Stopwatch.StartNew();
benchmark.Start();
await Task.Delay(TimeSpan.FromSeconds(options.Seconds));
Sample sample = benchmark.Sample();
double seconds = clock.Elapsed.TotalSeconds;
shared.Stop();

var machine1 = MachineCpu.Read();
process.Refresh();
double user = (process.UserProcessorTime - user0).TotalSeconds,
    system = (process.PrivilegedProcessorTime - system0).TotalSeconds;
long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
long errors = shared.Errors + benchmark.DetectedErrors;

double mebibytes = sample.Bytes / (1024.0 * 1024.0);
output.WriteLine();
output.WriteLine($"Errors: {errors}");
output.WriteLine();
output.WriteLine(string.Create(invariant, $"{(echo ? "Round-trip time" : "Multicast time")}: {seconds:F3} s"));
output.WriteLine(string.Create(invariant, $"Total data: {mebibytes:F3} MiB"));
output.WriteLine($"Total messages: {sample.Messages}");
output.WriteLine(string.Create(invariant, $"Data throughput: {mebibytes / seconds:F3} MiB/s"));
output.WriteLine(
    string.Create(invariant, $"Message latency: {(sample.Messages == 0 ? 0 : seconds * 1e9 / sample.Messages):F0} ns"));
output.WriteLine(string.Create(invariant, $"Message throughput: {(long)(sample.Messages / seconds)} msg/s"));
output.Flush();

var log = Console.Error;
double perMessage = Math.Max(1, sample.Messages);
log.WriteLine(string.Create(invariant,
    $"# cpu: {user:F2} s user + {system:F2} s system = " +
    $"{(user + system) / seconds / Environment.ProcessorCount * 100:F0}% of {Environment.ProcessorCount} cores; " +
    $"{(user + system) * 1e9 / perMessage:F0} ns CPU per message " +
    $"({system * 1e9 / perMessage:F0} ns of it in the kernel)"));
log.WriteLine(string.Create(invariant,
    $"# gc: {allocated / perMessage:F1} bytes allocated per message ({allocated / (1024.0 * 1024.0):F1} MiB in all); " +
    $"collections gen0 {GC.CollectionCount(0) - gen0}, gen1 {GC.CollectionCount(1) - gen1}, gen2 " +
    $"{GC.CollectionCount(2) - gen2}"));
if (machine0 is { } m0 && machine1 is { } m1)
{
    // Other processes on the machine take CPU from this run: say how much, so that a disturbed run shows.
    // Interrupt time is listed apart: loopback traffic is processed in softirq, partly outside our process.
    double wall = (m1.WallSeconds - m0.WallSeconds) * Environment.ProcessorCount;
    double busy = m1.BusySeconds - m0.BusySeconds, interrupts = m1.InterruptSeconds - m0.InterruptSeconds;
    double others = Math.Max(0, busy - interrupts - (user + system));
    log.WriteLine(string.Create(invariant,
        $"# machine: all cores {busy / wall * 100:F0}% busy; interrupts {interrupts / wall * 100:F0}%; " +
        $"other processes {others / wall * 100:F0}% ({others:F2} CPU-seconds); steal " +
        $"{(m1.StealSeconds - m0.StealSeconds) / wall * 100:F0}%; " +
        $"this process with interrupts: {(user + system + interrupts) * 1e9 / perMessage:F0} ns CPU per message"));
}

foreach (string line in benchmark.Diagnostics()) log.WriteLine(line);
if (allocationTrace is not null)
{
    foreach (string line in allocationTrace.Report()) log.WriteLine(line);
}

if (shared.FirstError is { } first) log.WriteLine($"# first error: {first}");

return await TearDownAsync(benchmark) ? 0 : 3;

static async Task<bool> TearDownAsync(IBenchmark benchmark)
{
    try
    {
        await benchmark.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
        return true;
    }
    catch (TimeoutException)
    {
        Console.Error.WriteLine("Gray.Bench: shutdown did not finish within 15 s.");
        return false;
    }
    catch (Exception error)
    {
        Console.Error.WriteLine($"Gray.Bench: shutdown failed: {error.GetType().Name}: {error.Message}");
        return false;
    }
}

/// <summary>Machine-wide CPU time from /proc/stat (Linux), to tell a quiet run from a disturbed one.</summary>
internal readonly record struct MachineCpu(
    double BusySeconds, double InterruptSeconds, double StealSeconds, double WallSeconds)
{
    private const double TicksPerSecond = 100; // USER_HZ

    public static MachineCpu? Read()
    {
        try
        {
            // cpu  user nice system idle iowait irq softirq steal ...
            string? line = File.ReadLines("/proc/stat").FirstOrDefault();
            if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal)) return null;
            long[] t = line[4..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
            if (t.Length < 8) return null;
            long total = t.Take(8).Sum(), idle = t[3] + t[4];
            return new MachineCpu(
                (total - idle) / TicksPerSecond, (t[5] + t[6]) / TicksPerSecond, t[7] / TicksPerSecond,
                total / TicksPerSecond / Environment.ProcessorCount);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
