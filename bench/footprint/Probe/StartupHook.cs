// Loaded into a gray process by DOTNET_STARTUP_HOOKS: when GRAY_PROBE_FILE.req appears, it writes the
// managed heap's numbers (before and after a full blocking GC) to GRAY_PROBE_FILE, for bench/footprint.
using System.Runtime;
using System.Runtime.InteropServices;

internal static class StartupHook
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);

    public static void Initialize()
    {
        string? path = Environment.GetEnvironmentVariable("GRAY_PROBE_FILE");
        if (path is null) return;
        if (Environment.GetEnvironmentVariable("GRAY_PROBE_LOADS") is { } loads)
        {
            // Who loads each assembly: the first frames of our own code in the stack.
            AppDomain.CurrentDomain.AssemblyLoad += (_, e) =>
            {
                var frames = new System.Diagnostics.StackTrace().GetFrames()
                    .Select(f => f.GetMethod())
                    .Where(m => m?.DeclaringType?.FullName is { } n
                        && !n.StartsWith("System.", StringComparison.Ordinal)
                        && !n.StartsWith("StartupHook", StringComparison.Ordinal))
                    .Take(4).Select(m => $"{m!.DeclaringType!.FullName}.{m.Name}");
                File.AppendAllText(loads, $"{e.LoadedAssembly.GetName().Name} <- {string.Join(" <- ", frames)}\n");
            };
        }

        if (Environment.GetEnvironmentVariable("GRAY_PROBE_ALLOCATIONS") == "1")
            s_allocations = new AllocationSampler();
        var thread = new Thread(() => Watch(path)) { IsBackground = true, Name = "footprint probe" };
        thread.Start();
    }

    private static AllocationSampler? s_allocations;

    private static void Watch(string path)
    {
        string request = path + ".req";
        while (true)
        {
            Thread.Sleep(PollInterval);
            if (!File.Exists(request)) continue;
            string before = Describe("before");
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            string after = Describe("after full GC");
            string trim = Environment.GetEnvironmentVariable("GRAY_PROBE_TRIM") == "1"
                ? $"  malloc_trim released: {MallocTrim(0)}\n" + Native() : "";
            File.WriteAllText(path + ".tmp", before + after + Native() + trim + (s_allocations?.TakeReport() ?? ""));
            File.Move(path + ".tmp", path, overwrite: true);
            File.Delete(request);
        }
    }

    // glibc's view of the native heap: in use, free inside its arenas, and mmapped blocks.
    private static string Native()
    {
        var m = MallInfo2();
        return $"  native (glibc): arenas {m.Arena >> 10} KiB, in use {m.Uordblks >> 10} KiB, free in " +
            $"arenas {m.Fordblks >> 10} KiB, " +
            $"mmapped {m.Hblkhd >> 10} KiB ({m.Hblks} blocks), releasable {m.Keepcost >> 10} KiB\n";
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    private static extern MallInfo MallInfo2();

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static string Describe(string label)
    {
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        var text = new System.Text.StringBuilder();
        text.Append($"  managed {label}: heap {info.HeapSizeBytes >> 10} KiB, committed " +
            $"{GC.GetGCMemoryInfo().TotalCommittedBytes >> 10} KiB, " +
            $"fragmented {info.FragmentedBytes >> 10} KiB, total memory {GC.GetTotalMemory(false) >> 10} KiB, " +
            $"gcs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, server " +
            $"{GCSettings.IsServerGC}, " +
            $"latency {GCSettings.LatencyMode}, threads " +
            $"{System.Diagnostics.Process.GetCurrentProcess().Threads.Count}, " +
            $"pool threads {ThreadPool.ThreadCount}\n    gens after last GC (KiB):");
        var gens = info.GenerationInfo;
        for (int i = 0; i < gens.Length; i++) text.Append($" g{i}={gens[i].SizeAfterBytes >> 10}");
        text.Append('\n');
        return text.ToString();
    }
}

/// <summary>The runtime's allocation sampling (one event per ~100 KiB allocated), summed by type since the last
/// report.</summary>
internal sealed class AllocationSampler : System.Diagnostics.Tracing.EventListener
{
    private const int ReportedTypes = 40;
    private readonly Dictionary<string, (long Bytes, int Samples)> _byType = new();

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(
                source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal)
            || e.Payload is null) return;
        int nameIndex = e.PayloadNames!.IndexOf("TypeName"), amountIndex = e.PayloadNames.IndexOf("AllocationAmount64");
        if (nameIndex < 0) return;
        string type = e.Payload[nameIndex] as string ?? "?";
        long amount = amountIndex >= 0 ? Convert.ToInt64(e.Payload[amountIndex]) : 100_000;
        lock (_byType)
        {
            _byType.TryGetValue(type, out var sum);
            _byType[type] = (sum.Bytes + amount, sum.Samples + 1);
        }
    }

    public string TakeReport()
    {
        lock (_byType)
        {
            var text = new System.Text.StringBuilder(
                "  allocations sampled since the last checkpoint (KiB, samples, type):\n");
            foreach (var (type, sum) in _byType.OrderByDescending(kv => kv.Value.Bytes).Take(ReportedTypes))
            {
                text.Append($"    {sum.Bytes >> 10,8} {sum.Samples,5}  {type}\n");
            }

            _byType.Clear();
            return text.ToString();
        }
    }
}
