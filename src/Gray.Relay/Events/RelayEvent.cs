// What the event stream carries: one flat record per happening, so that a subscriber (the dashboard,
// `gray admin events`, a script) reads every kind with one shape.
using System.Text.Json.Serialization;

namespace Gray.Relay.Events;

/// <summary>One thing that happened in the relay.</summary>
/// <param name="Sequence">Numbers events in the order they were published, from 1.</param>
/// <param name="Type">One of <see cref="RelayEventTypes"/>.</param>
public sealed record RelayEvent(
    long Sequence,
    DateTimeOffset Time,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Server = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Client = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? BytesIn = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? BytesOut = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason = null);

/// <summary>The event types, as the stream names them.</summary>
public static class RelayEventTypes
{
    public const string AgentConnected = "agent.connected";
    public const string AgentDisconnected = "agent.disconnected";
    public const string PairOpened = "pair.opened";
    public const string PairClosed = "pair.closed";
    public const string Refused = "refused";
    public const string ConfigReloaded = "config.reloaded";
    public const string Drained = "drain";
    public const string Resumed = "resume";
    public const string ServerAdded = "server.added";
    public const string ServerDeleted = "server.deleted";

    /// <summary>The last event a subscriber gets when it fell behind and is dropped.</summary>
    public const string Dropped = "dropped";
}
