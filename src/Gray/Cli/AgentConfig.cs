// An agent's YAML file: one relay, several tunnels. Secrets come from the file, a file of their own,
// or an environment variable.
using Gray.Agent;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;
using Gray.Hosting;

namespace Gray.Cli;

/// <summary>What an agent file says besides its tunnels.</summary>
public sealed record AgentFileSettings(System.Net.IPEndPoint? MetricsListen, Uri? OtlpEndpoint, Microsoft.Extensions.Logging.LogLevel? LogLevel);

public static class AgentConfig
{
    /// <summary>The tunnels a file declares, each as the options of one agent.</summary>
    public static IReadOnlyList<AgentOptions> Load(string path, string knownRelaysPath) => LoadWithSettings(path, knownRelaysPath).Tunnels;

    /// <summary>The tunnels and the process-wide settings (metrics, OTLP, log level) of an agent file.</summary>
    public static (IReadOnlyList<AgentOptions> Tunnels, AgentFileSettings Settings) LoadWithSettings(string path, string knownRelaysPath)
    {
        string text;
        AgentFile file;
        try
        {
            text = File.ReadAllText(path);
            var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
            file = YamlReader.Deserialize<AgentFile>(deserializer, text) ?? new AgentFile();
        }
        catch (YamlException error)
        {
            throw new ConfigException($"{path}:{error.Start.Line}: {error.InnerException?.Message ?? error.Message}");
        }
        catch (IOException error)
        {
            throw new ConfigException($"{path}: {error.Message}");
        }

        try
        {
            return Read(file, path, knownRelaysPath);
        }
        catch (ConfigException error)
        {
            throw new ConfigException(YamlReader.WithLine(error.Message, path, text));
        }
    }

    private static (IReadOnlyList<AgentOptions> Tunnels, AgentFileSettings Settings) Read(AgentFile file, string path, string knownRelaysPath)
    {
        if (file.Relay is null) throw new ConfigException($"{path}: relay: HOST:PORT is required");
        var relay = SettingText.ParseHostPort(file.Relay, "relay");
        if (file.Tunnels is not { Count: > 0 }) throw new ConfigException($"{path}: tunnels: declare at least one");
        var tunnels = new List<AgentOptions>();
        foreach (var (id, tunnel) in file.Tunnels)
        {
            string where = $"{path}: tunnels.{id}";
            if (!Protocol.Auth.IsValidId(id)) throw new ConfigException($"{where}: not a valid server id");
            tunnels.Add(new AgentOptions
            {
                Relay = relay,
                Id = id,
                Secret = tunnel.KeyFile is null ? Secret(tunnel, where, Path.GetDirectoryName(Path.GetFullPath(path))!) : "",
                KeyFile = tunnel.KeyFile is null ? null : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, tunnel.KeyFile),
                Target = SettingText.ParseHostPort(tunnel.Target ?? throw new ConfigException($"{where}: target is required"), $"tunnels.{id}.target"),
                Pool = tunnel.Pool is { } pool and >= Protocol.Wire.MinPool and <= Protocol.Wire.MaxPool ? pool
                    : tunnel.Pool is null ? 8 : throw new ConfigException($"{where}: pool must be {Protocol.Wire.MinPool}-{Protocol.Wire.MaxPool}"),
                Fingerprint = file.Fingerprint,
                PlainData = tunnel.PlainData ?? false,
                Mux = tunnel.Mux ?? false,
                KnownRelaysPath = knownRelaysPath,
            });
        }

        var settings = new AgentFileSettings(
            file.Metrics?.Listen is { } listen ? SettingText.ParseEndPoint(listen, "metrics.listen") : null,
            file.Otlp?.Endpoint is { } endpoint
                ? Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? uri : throw new ConfigException($"{path}: otlp.endpoint: '{endpoint}' is not a URL")
                : null,
            file.LogLevel is { } level ? SettingText.ParseLogLevel(level, path) : null);
        return (tunnels, settings);
    }

    private static string Secret(TunnelSection tunnel, string where, string baseDir) =>
        ConfigFile.ResolveSecret(tunnel.Secret, tunnel.SecretFile, tunnel.SecretEnv, where, baseDir)
        ?? throw new ConfigException($"{where}: give exactly one of secret, secret_file, secret_env (or key_file)");

    private sealed class AgentFile
    {
        public string? Relay { get; set; }

        public string? Fingerprint { get; set; }

        public Dictionary<string, TunnelSection>? Tunnels { get; set; }

        public EndpointSection? Metrics { get; set; }

        public EndpointSection? Otlp { get; set; }

        public string? LogLevel { get; set; }
    }

    private sealed class EndpointSection
    {
        public string? Listen { get; set; }

        public string? Endpoint { get; set; }
    }

    private sealed class TunnelSection
    {
        public string? Target { get; set; }

        public string? Secret { get; set; }

        public string? SecretFile { get; set; }

        public string? SecretEnv { get; set; }

        /// <summary>A PEM ECDSA P-256 private key trusted by the relay, instead of a secret.</summary>
        public string? KeyFile { get; set; }

        public int? Pool { get; set; }

        public bool? PlainData { get; set; }

        public bool? Mux { get; set; }
    }
}
