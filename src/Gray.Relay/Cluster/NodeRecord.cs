// One row of the nodes table: a relay node as its last heartbeat described it.
namespace Gray.Relay;

/// <param name="Live">Heard from within the node timeout (by the database's clock).</param>
public sealed record NodeRecord(string Id, string Advertise, string Fingerprint, string? Api,
    DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt, bool Draining, int Agents, int Clients, int Pairs,
    long BytesIn, long BytesOut, bool Live);
