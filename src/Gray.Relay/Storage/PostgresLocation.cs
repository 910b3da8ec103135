// A PostgreSQL registry's address as people write it: a postgres:// URL (libpq's form) or an Npgsql
// connection string, turned into the connection string Npgsql takes.
using Gray.Hosting;
using Npgsql;

namespace Gray.Relay;

internal static class PostgresLocation
{
    /// <summary>Seconds to wait for a connection: a registry that is away must not hold a write for long.</summary>
    private const int ConnectTimeoutSeconds = 5;

    /// <summary>Seconds a registry command may take.</summary>
    private const int CommandTimeoutSeconds = 10;

    /// <exception cref="ConfigException">Neither a postgres:// URL nor a connection string.</exception>
    public static string ConnectionString(string location)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Timeout = ConnectTimeoutSeconds, CommandTimeout = CommandTimeoutSeconds, ApplicationName = "gray",
        };
        if (location.StartsWith("postgres://", StringComparison.Ordinal)
            || location.StartsWith("postgresql://", StringComparison.Ordinal))
        {
            FromUrl(location, builder);
        }
        else if (location.Contains('=', StringComparison.Ordinal))
        {
            try
            {
                builder.ConnectionString = location;
            }
            catch (ArgumentException error)
            {
                throw new ConfigException($"registry: not a valid connection string: {error.Message}");
            }
        }
        else
        {
            throw new ConfigException("registry: use sqlite:PATH, postgres://USER@HOST:PORT/DATABASE, or a " +
                "PostgreSQL connection string (Host=…;Database=…)");
        }

        if (string.IsNullOrEmpty(builder.Host)) throw new ConfigException("registry: the URL names no host");
        return builder.ConnectionString;
    }

    /// <summary>The location with its password, if any, masked: for `gray config show` and messages.</summary>
    public static string Redact(string location)
    {
        int start = location.IndexOf("://", StringComparison.Ordinal);
        if (start < 0)
        {
            return System.Text.RegularExpressions.Regex.Replace(location, "(?i)(password|pwd)\\s*=[^;]*",
                "$1=" + Masked);
        }

        start += 3;
        int end = location.IndexOfAny(['/', '?'], start);
        int at = location.LastIndexOf('@', end < 0 ? location.Length - 1 : end - 1); // user:pa@ss@host
        if (at < start) at = -1;
        int colon = at < 0 ? -1 : location.IndexOf(':', start, at - start);
        return colon < 0 ? location : location[..(colon + 1)] + Masked + location[at..];
    }

    private const string Masked = "********";

    // postgres://user:password@host:port/database?host=/run/postgresql&sslmode=require
    private static void FromUrl(string location, NpgsqlConnectionStringBuilder builder)
    {
        if (!Uri.TryCreate(location, UriKind.Absolute, out var url))
        {
            throw new ConfigException("registry: not a valid postgres:// URL");
        }

        if (url.Host.Length > 0) builder.Host = url.Host;
        if (url.Port > 0) builder.Port = url.Port;
        string database = Uri.UnescapeDataString(url.AbsolutePath.TrimStart('/'));
        if (database.Length > 0) builder.Database = database;
        if (url.UserInfo.Length > 0)
        {
            string[] user = url.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(user[0]);
            if (user.Length == 2) builder.Password = Uri.UnescapeDataString(user[1]);
        }

        foreach (string pair in url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] parts = pair.Split('=', 2);
            string value = parts.Length == 2 ? Uri.UnescapeDataString(parts[1]) : "";
            switch (parts[0])
            {
                case "host": builder.Host = value; break;
                case "sslmode":
                    builder.SslMode = Enum.TryParse<SslMode>(value, ignoreCase: true, out var mode) ? mode
                        : throw new ConfigException($"registry: sslmode '{value}' is not one PostgreSQL knows");
                    break;
                case "connect_timeout":
                    builder.Timeout = int.TryParse(value, out int seconds) && seconds > 0 ? seconds
                        : throw new ConfigException($"registry: connect_timeout '{value}' is not a number of seconds");
                    break;
                case "application_name": builder.ApplicationName = value; break;
                default: throw new ConfigException($"registry: the URL's parameter '{parts[0]}' is not one gray knows");
            }
        }
    }
}
