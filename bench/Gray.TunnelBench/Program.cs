// The tunnel benchmark: runs each workload through no tunnel, Gray (TLS and plain data), haproxy
// and `ssh -R` on loopback, in rounds, and reports medians and ratios as Markdown and SVG.
using System.Runtime.InteropServices;
using Gray.TunnelBench;
using Gray.TunnelBench.Report;
using Gray.TunnelBench.Setups;
using Gray.TunnelBench.Workloads;

if (args is [EchoTarget.Flag]) return await EchoTarget.RunAsync();
if (args is [NamedTargets.Flag]) return await NamedTargets.RunAsync();

var options = BenchOptions.Parse(args, out string? error);
if (options is null)
{
    if (error is not null) Console.Error.WriteLine($"error: {error}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return error is null ? 0 : 2;
}

using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => ChildProcess.KillAll());
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => ChildProcess.KillAll());
ulong descriptors = DescriptorLimit.Raise();
string scratch = Directory.CreateTempSubdirectory("gray-tunnel-bench-").FullName;
var results = new Results();
var runNotes = new List<string>();
var setups = new List<string>();
foreach (string setup in options.Setups)
{
    string? missing = setup switch
    {
        "haproxy" when !File.Exists(HaproxySetup.Program) =>
            "haproxy is not installed (apt-get install haproxy): skipped",
        "ssh" when !File.Exists(SshSetup.Daemon) || !File.Exists(SshSetup.Client) =>
        "sshd or ssh is not installed (apt-get install openssh-server openssh-client): skipped",
        _ => null,
    };
    if (missing is null) setups.Add(setup);
    else runNotes.Add(missing);
}

// Each lever runs the Gray setups once more, right after the default, under its environment.
foreach (var lever in options.Levers)
{
    foreach (string gray in setups.Where(s => s.StartsWith("gray-", StringComparison.Ordinal) && !s.Contains('@'))
        .ToList())
    {
        setups.Insert(setups.IndexOf(gray) + 1 + options.Levers.ToList().IndexOf(lever), $"{gray}@{lever.Name}");
    }
}

bool bulk = options.Workloads.Contains("bulk"), limit = options.Workloads.Contains("limit");
if ((bulk || limit) && !File.Exists(Bulk.Program))
{
    runNotes.Add("iperf3 is not installed (apt-get install iperf3): bulk, CPU cost and the limit skipped");
    bulk = limit = false;
}

bool echoWorkloads = options.Workloads.Any(w => w is "rr" or "conn" or "integrity");
GrayBinary? grayBinary = null;
if (setups.Any(s => s.StartsWith("gray-", StringComparison.Ordinal)))
{
    try
    {
        grayBinary = options.GrayDll ? GrayBinary.BuildOutput : await GrayBinary.PublishAsync(scratch);
    }
    catch (BenchException e)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        Directory.Delete(scratch, recursive: true);
        return 1;
    }

    runNotes.Insert(0, $"gray: {grayBinary.Description}");
}

var run =
    new RunInfo(DateTime.UtcNow, "dotnet run -c Release --project bench/Gray.TunnelBench -- " + string.Join(' ', args),
    await Machine.DescribeAsync(), await Machine.PeersAsync(), runNotes);
foreach (string note in runNotes) Console.Error.WriteLine($"# {note}");
int failures = 0;
try
{
    var (echo, echoPort) = await EchoTarget.StartAsync();
    await using var echoTarget = echo;
    ChildProcess? iperfServer = null;
    int iperfPort = 0;
    if (bulk || limit) (iperfServer, iperfPort) = await Bulk.StartServerAsync();
    await using var iperfServerOwner = iperfServer;
    (ChildProcess Process, int HttpPort, int TlsPort)? namedTargets =
        options.Workloads.Contains("byname") ? await NamedTargets.StartAsync() : null;
    await using var namedTargetsOwner = namedTargets?.Process;

    for (int round = 1; round <= options.Runs; round++)
    {
        foreach (string name in setups)
        {
            Console.Error.WriteLine($"# round {round}/{options.Runs}: {name}");
            if (bulk)
            {
                failures += await RunGroupAsync(
                    name, round, iperfPort, (tunnel, port) => Bulk.RunAsync(tunnel, port, options, results));
            }

            if (echoWorkloads)
            {
                failures += await RunGroupAsync(name, round, echoPort, async (tunnel, port) =>
                {
                    if (options.Workloads.Contains("rr"))
                        await RequestResponse.RunAsync(tunnel, port, options, results);
                    if (options.Workloads.Contains("conn"))
                        await ConnectionRate.RunAsync(tunnel, port, options, results);
                    if (options.Workloads.Contains("integrity"))
                        await Integrity.RunAsync(tunnel, port, options, results);
                });
            }

            if (namedTargets is not null)
            {
                failures += await RunGroupAsync(name, round, namedTargets.Value.HttpPort,
                    (tunnel, port) => ByName.RunHttpAsync(tunnel, port, options, results), byName: ByNameKind.Http);
                failures += await RunGroupAsync(name, round, namedTargets.Value.TlsPort,
                    (tunnel, port) => ByName.RunTlsAsync(tunnel, port, options, results), byName: ByNameKind.Tls);
            }

            if (options.Workloads.Contains("udp"))
            {
                failures += await RunGroupAsync(name, round, echoPort,
                    (tunnel, port) => Datagrams.RunAsync(tunnel, port, options, results), udp: true);
            }

            if (limit && name.StartsWith("gray-", StringComparison.Ordinal))
            {
                failures += await RunGroupAsync(name, round, iperfPort,
                    (tunnel, port) => Bulk.RunLimitedAsync(tunnel, port, options, results));
            }

            bool memory = options.MemorySetups?.Contains(name.Split('@')[0]) ?? true;
            if (options.Workloads.Contains("idle") && memory)
            {
                // Afresh: memory after the other workloads would measure their leftovers, not idle connections.
                failures += await RunGroupAsync(name, round, echoPort,
                    (tunnel, port) => IdleFootprint.RunAsync(tunnel, port, options, results, descriptors));
            }

            if (options.Workloads.Contains("burst") && memory)
            {
                failures += await RunGroupAsync(
                    name, round, echoPort, (tunnel, port) => Burst.RunAsync(tunnel, port, options, results));
            }
        }
    }
}
finally
{
    ChildProcess.KillAll();
    try
    {
        Directory.Delete(scratch, recursive: true);
    }
    catch (IOException)
    {
    }
}

var names = setups.Select(Title).ToList();
string report = MarkdownReport.Render(results, options, names, run);
Console.WriteLine(report);
if (options.DocFile is { } doc) MarkdownReport.WriteInto(doc, report);
if (options.SvgFile is { } svg) File.WriteAllText(svg, SvgChart.Render(results, names, run));
return failures == 0 ? 0 : 1;

// Starts the setup afresh for one group of workloads against one service; 1 if it failed, noted.
async Task<int> RunGroupAsync(string name, int round, int servicePort, Func<TunnelSetup, int, Task> workloads,
    bool udp = false, ByNameKind? byName = null)
{
    try
    {
        await using var tunnel = Create(name);
        int? port = byName is { } kind ? await tunnel.StartByNameAsync(servicePort, kind)
            : udp ? await tunnel.StartUdpAsync(servicePort)
            : await tunnel.StartAsync(servicePort);
        // Setups without UDP (haproxy, ssh -R, plain data) or names (ssh -R) show none.
        if (port is { } entry) await workloads(tunnel, entry);
        return 0;
    }
    catch (BenchException e)
    {
        results.Note(Title(name), $"round {round} failed: {e.Message.Split('\n')[0]}");
        Console.Error.WriteLine($"# {Title(name)} failed in round {round}: {e.Message}");
        return 1;
    }
}

string Title(string name) => name.Split('@') is [var baseName, var leverName]
    ? $"{Title(baseName)} [{leverName}]" : name switch
{
    "direct" => Goals.Direct,
    "gray-tls-defaults" => Goals.TlsDefaults,
    "gray-plain-defaults" => Goals.PlainDefaults,
    "gray-tls" => Goals.Tls,
    "gray-tls-mux" => Goals.TlsMux,
    "gray-plain" => Goals.Plain,
    "gray-plain-mux" => Goals.PlainMux,
    "gray-wss" => Goals.Wss,
    "gray-wss-mux" => Goals.WssMux,
    "haproxy" => Goals.Haproxy,
    _ => Goals.Ssh,
};

TunnelSetup Create(string name) => name.Split('@') is [var baseName, var leverName]
    ? Gray(plainData: baseName.StartsWith("gray-plain", StringComparison.Ordinal),
        baseName.EndsWith("-mux", StringComparison.Ordinal) ? true
            : baseName.EndsWith("-defaults", StringComparison.Ordinal) ? null : false,
        options.Levers.First(l => l.Name == leverName), baseName.StartsWith("gray-wss", StringComparison.Ordinal))
    : name switch
{
    "direct" => new DirectSetup(),
    "gray-tls-defaults" => Gray(plainData: false, mux: null),
    "gray-plain-defaults" => Gray(plainData: true, mux: null),
    "gray-tls" => Gray(plainData: false, mux: false),
    "gray-tls-mux" => Gray(plainData: false, mux: true),
    "gray-plain" => Gray(plainData: true, mux: false),
    "gray-plain-mux" => Gray(plainData: true, mux: true),
    "gray-wss" => Gray(plainData: false, mux: false, webSocket: true),
    "gray-wss-mux" => Gray(plainData: false, mux: true, webSocket: true),
    "haproxy" => new HaproxySetup(scratch, descriptors),
    "ssh" => new SshSetup(scratch),
    _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
};

GraySetup Gray(bool plainData, bool? mux, Lever? lever = null, bool webSocket = false) =>
    new(grayBinary!, scratch, plainData, mux, options.Pool, lever, webSocket);
