// HTTP connections per source network (by the relay's address prefix): one network cannot take every
// one of the control plane's connections and keep the administrator out.
using System.Collections.Concurrent;
using System.Net;
using Gray.Net;
using Microsoft.AspNetCore.Connections;

namespace Gray.Relay.ControlPlane;

internal sealed class HttpConnectionBudget(AddressPrefix prefix, int perAddress)
{
    private readonly ConcurrentDictionary<IPAddress, int> _open = new();

    /// <summary>Kestrel connection middleware: past the budget, the connection is closed unread.</summary>
    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        if (connection.RemoteEndPoint is not IPEndPoint remote) return;
        var key = prefix.KeyOf(remote.Address);
        if (_open.AddOrUpdate(key, 1, (_, count) => count + 1) > perAddress)
        {
            Leave(key);
            return;
        }

        var slot = new Slot(this, key);
        connection.Features.Set(slot);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            slot.Leave();
        }
    };

    /// <summary>One connection's place in the budget; an agent's WebSocket leaves it early.</summary>
    public sealed class Slot(HttpConnectionBudget budget, IPAddress key)
    {
        private int _left;

        public void Leave()
        {
            if (Interlocked.Exchange(ref _left, 1) == 0) budget.Leave(key);
        }
    }

    private void Leave(IPAddress key)
    {
        // The last connection removes the entry (only if it is still at 1): no address stays behind.
        while (_open.TryGetValue(key, out int count))
        {
            bool left = count == 1
                ? _open.TryRemove(KeyValuePair.Create(key, 1))
                : _open.TryUpdate(key, count - 1, count);
            if (left) return;
        }
    }
}
