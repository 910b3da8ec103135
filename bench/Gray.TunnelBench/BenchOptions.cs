// The command line: which setups and workloads, how long, how many rounds, where the report goes.
using System.Globalization;

namespace Gray.TunnelBench;

internal sealed record BenchOptions
{
    public static readonly string[] AllSetups =
        ["direct", "gray-tls-defaults", "gray-plain-defaults", "gray-tls", "gray-tls-mux", "gray-plain",
            "gray-plain-mux", "gray-wss", "gray-wss-mux", "haproxy", "ssh"];
    public static readonly string[] AllWorkloads =
        ["bulk", "rr", "conn", "integrity", "byname", "udp", "limit", "idle", "burst"];

    public const string Usage =
        """
        Usage: Gray.TunnelBench [--quick] [--runs N] [--seconds S] [--setups LIST] [--workloads LIST]
                                [--idle LEVELS] [--memory-of LIST] [--pool N]
                                [--lever NAME:VAR=VALUE[,VAR=VALUE]]...
                                [--gray-dll] [--doc FILE] [--svg FILE]

          --quick            a smoke run (CI): 1 round, 1 s per measurement, idle levels 0,100, a 1 s burst
          --runs N           rounds; each runs every workload on every setup once; medians are reported (default 3)
          --seconds S        length of each bulk, request/response and connection-rate measurement (default 5)
          --setups LIST      comma-separated: direct,gray-tls-defaults,gray-plain-defaults,gray-tls,gray-tls-mux,
                             gray-plain,gray-plain-mux,gray-wss,gray-wss-mux,haproxy,ssh (default: all; -defaults:
                             the agent as shipped, no --mux or --pool; the others name pooled (--mux false) or
                             multiplexed (--mux); the wss ones reach the relay by WebSocket on its web port)
          --workloads LIST   comma-separated: bulk,rr,conn,integrity,byname,udp,limit,idle,burst (default:
                             all); integrity: 256 MiB echoed with half-close, SHA-256 compared (16 MiB with
                             --quick); byname: HTTP by Host and TLS by SNI on one shared port (not ssh -R);
                             udp: datagram round trips (direct and Gray only); limit: one stream under a
                             50 MiB/s limit (Gray);
                             burst: RSS 60 s after 30 s of streams and request/response against RSS before
          --idle LEVELS      idle connection counts, ascending (default 0,1000,5000,10000)
          --memory-of LIST   run the idle and burst workloads on these setups only (default: all)
          --pool N           data connections the Gray agent keeps ready, except in the -defaults setups
                             (default: the agent's own)
          --lever NAME:ENV   also run each Gray setup as "Gray … [NAME]" with these environment variables
                             (e.g. --lever inline:DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1), to
                             measure one lever against the default in the same run
          --gray-dll         run this build's gray.dll under `dotnet` instead of publishing gray as README
                             says (a native binary) and running that
          --doc FILE         write the report into FILE between its tunnel-benchmark markers
          --svg FILE         write the chart as SVG
          -h, --help         this text

        Everything runs on 127.0.0.1 and is stopped at the end. haproxy, sshd and iperf3 come from
        Debian's packages (haproxy, openssh-server, iperf3); a missing one is reported and skipped.
        """;

    public int Runs { get; init; } = 3;

    public int Seconds { get; init; } = 5;

    public IReadOnlyList<string> Setups { get; init; } = AllSetups;

    public IReadOnlyList<string> Workloads { get; init; } = AllWorkloads;

    public IReadOnlyList<int> IdleLevels { get; init; } = [0, 1_000, 5_000, 10_000];

    /// <summary>The setups the idle and burst workloads run on; null: all.</summary>
    public IReadOnlyList<string>? MemorySetups { get; init; }

    /// <summary>The agent's pool outside the -defaults setups; null: the agent's default.</summary>
    public int? Pool { get; init; }

    /// <summary>Named sets of environment variables under which the Gray setups run once more.</summary>
    public IReadOnlyList<Lever> Levers { get; init; } = [];

    public bool Quick { get; init; }

    /// <summary>Run gray from the build output instead of the published binary.</summary>
    public bool GrayDll { get; init; }

    public string? DocFile { get; init; }

    public string? SvgFile { get; init; }

    /// <summary>The options, or null with <paramref name="error"/> (null too when help was asked for).</summary>
    public static BenchOptions? Parse(string[] args, out string? error)
    {
        error = null;
        var options = new BenchOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{arg} needs a value");
            try
            {
                options = arg switch
                {
                    "--quick" => options with { Quick = true, Runs = 1, Seconds = 1, IdleLevels = [0, 100] },
                    "--runs" => options with { Runs = Positive(arg, Value()) },
                    "--seconds" => options with { Seconds = Positive(arg, Value()) },
                    "--setups" => options with { Setups = List(arg, Value(), AllSetups) },
                    "--workloads" => options with { Workloads = List(arg, Value(), AllWorkloads) },
                    "--idle" => options with { IdleLevels = Levels(arg, Value()) },
                    "--memory-of" => options with { MemorySetups = List(arg, Value(), AllSetups) },
                    "--pool" => options with { Pool = Positive(arg, Value()) },
                    "--lever" => options with { Levers = [.. options.Levers, ParseLever(arg, Value())] },
                    "--gray-dll" => options with { GrayDll = true },
                    "--doc" => options with { DocFile = ExistingFile(arg, Value()) },
                    "--svg" => options with { SvgFile = Value() },
                    "-h" or "--help" => null,
                    _ => throw new FormatException($"unknown argument '{arg}'"),
                };
                if (options is null) return null;
            }
            catch (FormatException e)
            {
                error = e.Message;
                return null;
            }
        }

        return options;
    }

    // The report goes between the markers of a page that exists: checked before a long run, not after it.
    private static string ExistingFile(string name, string path) =>
        File.Exists(path) ? path : throw new FormatException($"{name}: '{path}' does not exist");

    private static int Positive(string name, string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
            ? n : throw new FormatException($"{name}: '{text}' is not a positive number");

    private static string[] List(string name, string text, string[] allowed)
    {
        string[] items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string item in items)
        {
            if (!allowed.Contains(item))
                throw new FormatException($"{name}: '{item}' is not one of {string.Join(", ", allowed)}");
        }

        return items.Length > 0 ? items : throw new FormatException($"{name}: empty list");
    }

    private static Lever ParseLever(string name, string text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0) throw new FormatException($"{name}: '{text}' is not NAME:VAR=VALUE[,VAR=VALUE]");
        var environment = new Dictionary<string, string>();
        foreach (string pair in text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new FormatException($"{name}: '{pair}' is not VAR=VALUE");
            environment[pair[..eq]] = pair[(eq + 1)..];
        }

        return new Lever(text[..colon], environment);
    }

    private static int[] Levels(string name, string text)
    {
        int[] levels = text.Split(',').Select(
            t => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : -1).ToArray();
        bool ascending = levels.Zip(levels.Skip(1)).All(p => p.First < p.Second);
        return levels.Length >= 2 && levels.All(l => l >= 0) && ascending
            ? levels : throw new FormatException($"{name}: '{text}' is not a list of at least two ascending counts");
    }
}

/// <summary>A variant of the Gray setups: a name for the report and the environment it runs under.</summary>
internal sealed record Lever(string Name, IReadOnlyDictionary<string, string> Environment);
