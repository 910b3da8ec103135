// The command line: `echo|multicast --transport tcp|tls|udp -c CLIENTS -m MESSAGES -s SIZE -z SECONDS`.
using System.Globalization;

namespace Gray.Bench;

internal enum Scenario
{
    Echo,
    Multicast,
}

internal enum Transport
{
    Tcp,
    Tls,
    Udp,
}

internal sealed record BenchOptions(
    Scenario Scenario, Transport Transport, int Clients, int Messages, int Size, int Seconds)
{
    /// <summary>Largest UDP payload over IPv4.</summary>
    public const int MaxDatagram = 65_507;

    /// <summary>Bound on one client's echo window (MESSAGES x SIZE), which is also its send queue limit.</summary>
    public const long MaxWindowBytes = 256L * 1024 * 1024;

    public const string Usage =
        """
        Usage: Gray.Bench echo|multicast [--transport tcp|tls|udp] [-c CLIENTS] [-m MESSAGES] [-s SIZE] [-z SECONDS]

          echo|multicast        scenario: round-trip echo, or server-to-all-clients multicast
          --transport NAME      tcp (default), tls or udp
          -c, --clients N       working clients (default 1)
          -m, --messages N      echo: messages in flight per client (default 1000); ignored by multicast
          -s, --size N          message size in bytes (default 32)
          -z, --seconds N       run time in seconds (default 10)
          -h, --help            this text

        Server and clients run in this process on 127.0.0.1, on a free port.
        """;

    /// <summary>Parses the arguments; null with <paramref name="error"/> set when they are wrong.</summary>
    public static BenchOptions? Parse(string[] args, out string? error, out bool help)
    {
        error = null;
        help = false;
        Scenario? scenario = null;
        Transport transport = Transport.Tcp;
        int clients = 1, messages = 1000, size = 32, seconds = 10;

        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string name = arg;
            string? inlineValue = null;
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf('=') is > 2 and var eq)
            {
                name = arg[..eq];
                inlineValue = arg[(eq + 1)..];
            }

            string? Value()
            {
                if (inlineValue is not null) return inlineValue;
                if (i + 1 < args.Length) return args[++i];
                return null;
            }

            switch (name)
            {
                case "-h" or "--help" or "-?":
                    help = true;
                    return null;
                case "echo" or "multicast" when scenario is null:
                    scenario = name == "echo" ? Scenario.Echo : Scenario.Multicast;
                    break;
                case "--transport":
                    string? t = Value();
                    switch (t)
                    {
                        case "tcp": transport = Transport.Tcp; break;
                        case "tls": transport = Transport.Tls; break;
                        case "udp": transport = Transport.Udp; break;
                        default:
                            error = t is null ? "--transport needs a value: tcp, tls or udp."
                                : $"Unknown transport '{t}': use tcp, tls or udp.";
                            return null;
                    }

                    break;
                case "-c" or "--clients":
                    if (!PositiveInt(name, Value(), out clients, out error)) return null;
                    break;
                case "-m" or "--messages":
                    if (!PositiveInt(name, Value(), out messages, out error)) return null;
                    break;
                case "-s" or "--size":
                    if (!PositiveInt(name, Value(), out size, out error)) return null;
                    break;
                case "-z" or "--seconds":
                    if (!PositiveInt(name, Value(), out seconds, out error)) return null;
                    break;
                default:
                    error = arg is "echo" or "multicast"
                        ? "Give only one scenario: echo or multicast."
                        : $"Unknown argument '{arg}'.";
                    return null;
            }
        }

        if (scenario is null)
        {
            error = "Missing scenario: echo or multicast.";
            return null;
        }

        if (transport == Transport.Udp && size > MaxDatagram)
        {
            error = $"--size {size} is larger than a UDP datagram can be ({MaxDatagram}).";
            return null;
        }

        if (scenario == Scenario.Echo && (long)messages * size > MaxWindowBytes)
        {
            error = $"--messages x --size is {(long)messages * size} bytes; at most {MaxWindowBytes} " +
                "may be in flight per client.";
            return null;
        }

        if (clients > 10_000)
        {
            error = "--clients is at most 10000.";
            return null;
        }

        return new BenchOptions(scenario.Value, transport, clients, messages, size, seconds);
    }

    private static bool PositiveInt(string name, string? text, out int value, out string? error)
    {
        error = null;
        if (text is null)
        {
            value = 0;
            error = $"{name} needs a value.";
            return false;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) || value < 1)
        {
            error = $"{name} must be a whole number of at least 1, not '{text}'.";
            return false;
        }

        return true;
    }
}
