// Where the registry lives: SQLite in the data directory (one relay, the default) or PostgreSQL, shared
// by the nodes of a cluster (decision 0042). The registry's SQL is the same for both; a store opens
// connections, brings the schema to this build's version, and says when a write must be announced.
using System.Data.Common;
using Gray.Hosting;

namespace Gray.Relay;

internal abstract class RegistryStore : IDisposable
{
    /// <summary>The schema this build writes (both stores): each migration moves a registry one version up.</summary>
    public const int SchemaVersion = 2;

    /// <summary>Where it is, for logs and errors: never a password.</summary>
    public abstract string Description { get; }

    /// <summary>A new open connection; the caller disposes it.</summary>
    public abstract DbConnection Open();

    /// <summary>Brings the schema to <see cref="SchemaVersion"/>; at most one relay at a time does.</summary>
    public abstract void Migrate();

    /// <summary>Called inside every write's transaction, before it commits: a shared store tells the other
    /// nodes (they read the registry again when it commits).</summary>
    public virtual void Announce(DbConnection connection, DbTransaction transaction)
    {
    }

    public virtual void Dispose()
    {
    }

    /// <summary>
    /// The store <paramref name="location"/> names: null for SQLite in <paramref name="dataDir"/>,
    /// <c>sqlite:PATH</c>, <c>postgres://…</c> (or <c>postgresql://…</c>), or an Npgsql connection string.
    /// </summary>
    /// <exception cref="ConfigException">The location is none of these.</exception>
    public static RegistryStore From(string? location, string dataDir)
    {
        if (location is null or "") return new SqliteRegistryStore(Path.Combine(dataDir, Registry.FileName));
        if (!NamesPostgres(location))
        {
            string path = location["sqlite:".Length..];
            if (path.Length == 0) throw new ConfigException("registry: sqlite: needs a path (sqlite:PATH)");
            return new SqliteRegistryStore(Path.GetFullPath(path));
        }

        return new PostgresRegistryStore(PostgresLocation.ConnectionString(location));
    }

    /// <summary>A location other than SQLite's: a PostgreSQL URL or connection string (checked when opened).
    /// </summary>
    public static bool NamesPostgres(string? location) =>
        location is { Length: > 0 } && !location.StartsWith("sqlite:", StringComparison.Ordinal);

    /// <summary>A command on <paramref name="connection"/> with <c>@name</c> parameters.</summary>
    public static DbCommand Command(DbConnection connection, string text, DbTransaction? transaction = null,
        params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = text;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    public static int Execute(DbConnection connection, string text, DbTransaction? transaction = null,
        params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var command = Command(connection, text, transaction, parameters);
        return command.ExecuteNonQuery();
    }

    public static long Scalar(DbConnection connection, string text, DbTransaction? transaction = null,
        params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        using var command = Command(connection, text, transaction, parameters);
        return command.ExecuteScalar() is { } value and not DBNull ? Convert.ToInt64(value) : 0;
    }

    /// <summary>Refuses a registry written by a newer relay.</summary>
    protected static void CheckNotNewer(long version)
    {
        if (version > SchemaVersion)
        {
            throw new RegistryException($"the registry's schema is version {version}, newer than this relay's " +
                $"({SchemaVersion}): run the newer gray, or restore a backup");
        }
    }
}
