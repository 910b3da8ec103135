// HOST:PORT parsing for the command line ([v6]:port too).
using System.Net;

namespace Gray.Cli;

public static class Endpoints
{
    public static DnsEndPoint ParseHostPort(string text, string what)
    {
        int colon = text.LastIndexOf(':');
        if (colon > 0 && int.TryParse(text[(colon + 1)..], out int port) && port is > 0 and <= 65535)
        {
            string host = text[..colon].Trim('[', ']');
            if (host.Length > 0) return new DnsEndPoint(host, port);
        }

        throw new ConfigException($"{what}: '{text}' is not HOST:PORT");
    }
}
