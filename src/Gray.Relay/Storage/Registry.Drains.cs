// What the API changes on a server besides its names: its bandwidth limits (four rates, winning over the
// relay file's) and its drain. Kept in the registry, so every node of a cluster applies them.
namespace Gray.Relay;

public sealed partial class Registry
{
    /// <summary>Sets (or, with null, clears) <paramref name="id"/>'s limits; false if there is no such
    /// server.</summary>
    public bool SetBandwidth(string id, Bandwidth? bandwidth) => Write((connection, transaction) =>
        RegistryStore.Execute(connection, "UPDATE servers SET bandwidth = @bandwidth WHERE id = @id", transaction,
            ("@bandwidth", bandwidth?.ToColumn()), ("@id", id)) > 0);

    /// <summary>Drains (or resumes) <paramref name="id"/>, or with null every server; false if there is no
    /// such server.</summary>
    public bool SetDrained(string? id, bool drained) => Write((connection, transaction) =>
        id is null
            ? RegistryStore.Execute(connection, "UPDATE servers SET drained = @drained", transaction,
                ("@drained", drained ? 1 : 0)) >= 0
            : RegistryStore.Execute(connection, "UPDATE servers SET drained = @drained WHERE id = @id", transaction,
                ("@drained", drained ? 1 : 0), ("@id", id)) > 0);
}
