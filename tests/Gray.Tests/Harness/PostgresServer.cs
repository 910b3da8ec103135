// A PostgreSQL server of the test's own: initdb into a temporary folder and postgres run as an unprivileged
// user (Debian's postgres account when the tests run as root), trust authentication on its addresses only.
// Tests that need it skip, with the reason, where Debian's postgresql package is not installed.
using Gray.Testing;
using Xunit;

namespace Gray.Tests.Harness;

public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>The role tests connect as (made by initdb, superuser).</summary>
    public const string User = "gray";

    private static readonly Lazy<string?> s_binaries = new(FindBinaries);

    private readonly string _dataDir;
    private readonly string[] _runAs;
    private readonly Func<string[], string[]> _wrap;
    private GrayProcess? _process;

    private PostgresServer(string dataDir, string address, int port, string[] runAs, Func<string[], string[]> wrap)
    {
        _dataDir = dataDir;
        Address = address;
        Port = port;
        _runAs = runAs;
        _wrap = wrap;
    }

    public string Address { get; }

    public int Port { get; }

    /// <summary>The folder with initdb and postgres, or null where PostgreSQL is not installed.</summary>
    public static string? Binaries => s_binaries.Value;

    /// <summary>Why PostgreSQL tests cannot run here, or null.</summary>
    public static string? Missing() => Binaries is null
        ? "PostgreSQL is not installed (Debian's postgresql package: /usr/lib/postgresql/*/bin/initdb)" : null;

    public string Url(string database) => $"postgres://{User}@{Address}:{Port}/{database}";

    /// <summary>
    /// initdb and start; <paramref name="wrap"/> runs a command elsewhere (in a network namespace, say), and
    /// <paramref name="trustNetwork"/> (a CIDR) may connect besides loopback.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(string address = "127.0.0.1", int? port = null,
        Func<string[], string[]>? wrap = null, string? trustNetwork = null)
    {
        string bin = Binaries ?? throw new InvalidOperationException(Missing());
        string dataDir = Directory.CreateTempSubdirectory("gray-postgres-").FullName;
        // initdb refuses root: as root, the cluster belongs to the postgres account and runs as it.
        string[] runAs = Environment.UserName == "root"
            ? ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] : [];
        if (runAs.Length > 0) await RunAsync(["chown", "postgres:postgres", dataDir]);
        await RunAsync([.. runAs, Path.Combine(bin, "initdb"), "-D", Path.Combine(dataDir, "db"), "-A", "trust",
            "-U", User, "--no-sync", "-E", "UTF8", "--locale", "C"]);
        if (trustNetwork is not null)
        {
            await File.AppendAllTextAsync(Path.Combine(dataDir, "db", "pg_hba.conf"),
                $"host all all {trustNetwork} trust\n");
        }
        var server = new PostgresServer(dataDir, address, port ?? Ports.Free(), runAs, wrap ?? (c => c));
        await server.StartAgainAsync();
        return server;
    }

    /// <summary>Starts postgres (again, after <see cref="StopAsync"/> or <see cref="Kill"/>).</summary>
    public async Task StartAgainAsync()
    {
        string[] command = _wrap([.. _runAs, Path.Combine(Binaries!, "postgres"), "-D", Path.Combine(_dataDir, "db"),
            "-p", Port.ToString(), "-k", _dataDir, "-c", $"listen_addresses={Address}", "-c", "fsync=off",
            "-c", "max_connections=200"]);
        _process = GrayProcess.StartProgram(command[0], command[1..]);
        await _process.WaitForLineAsync(l => l.Contains("ready to accept connections"), "postgres ready",
            TimeSpan.FromSeconds(60));
    }

    /// <summary>A fast shutdown (SIGINT): sessions end, the server stops.</summary>
    public async Task StopAsync()
    {
        if (_process is null) return;
        _process.Signal(2);
        await _process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await _process.DisposeAsync();
        _process = null;
    }

    /// <summary>A new database, empty; returns its URL.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await RunAsync(_wrap(["psql", "-h", _dataDir, "-p", Port.ToString(), "-U", User, "-d", "postgres",
            "-v", "ON_ERROR_STOP=1", "-c", $"CREATE DATABASE \"{name}\""]));
        return Url(name);
    }

    /// <summary>Runs SQL in a database through psql and returns what it prints (unaligned, tuples only).</summary>
    public async Task<string> QueryAsync(string database, string sql)
    {
        await using var psql = GrayProcess.StartProgram("psql", ["-h", _dataDir, "-p", Port.ToString(), "-U", User,
            "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]);
        if (await psql.WaitForExitAsync(TimeSpan.FromSeconds(30)) != 0)
            throw new InvalidOperationException($"psql failed: {psql.Output}");
        return psql.Output.Trim();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await StopAsync();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task RunAsync(string[] command)
    {
        await using var process = GrayProcess.StartProgram(command[0], command[1..]);
        if (await process.WaitForExitAsync(TimeSpan.FromSeconds(60)) != 0)
            throw new InvalidOperationException($"{string.Join(' ', command)} failed: {process.Output}");
    }

    private static string? FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root)) return null;
        return Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin"))
            .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "postgres")))
            .OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault();
    }
}

/// <summary>A fact that needs PostgreSQL; skipped with the reason where it is not installed.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (PostgresServer.Missing() is { } reason) Skip = reason;
    }
}

/// <summary>One PostgreSQL server for the tests of a collection, started by the first that asks; each test
/// makes databases of its own in it.</summary>
public sealed class PostgresFixture : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private PostgresServer? _server;
    private int _databases;

    public async Task<PostgresServer> ServerAsync()
    {
        await _gate.WaitAsync();
        try
        {
            return _server ??= await PostgresServer.StartAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A fresh, empty database; its URL.</summary>
    public async Task<string> DatabaseAsync()
    {
        var server = await ServerAsync();
        return await server.CreateDatabaseAsync($"test{Interlocked.Increment(ref _databases)}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}

[CollectionDefinition(nameof(Postgres))]
public sealed class Postgres : ICollectionFixture<PostgresFixture>;
