namespace Gray.Hosting;

/// <summary>A setting, flag or file that cannot be used; its message names the place (file:line or flag).</summary>
public sealed class ConfigException(string message) : Exception(message);
