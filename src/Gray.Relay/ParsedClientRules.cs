// A server's client allow/deny lists, parsed once per configuration (reload) rather than per client.
using Gray.Net;

namespace Gray.Relay;

internal sealed class ParsedClientRules(Func<ServerRules> current)
{
    private volatile Parsed? _parsed;

    public AddressRules Rules
    {
        get
        {
            var rules = current();
            var parsed = _parsed;
            if (parsed is null || !ReferenceEquals(parsed.Source, rules))
            {
                parsed = new Parsed(rules, rules.ToAddressRules());
                _parsed = parsed;
            }

            return parsed.Rules;
        }
    }

    private sealed record Parsed(ServerRules Source, AddressRules Rules);
}
