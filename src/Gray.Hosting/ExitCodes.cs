namespace Gray.Hosting;

/// <summary>Process exit codes (documented in the README).</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>A runtime failure: a port in use, the relay unreachable for an admin command.</summary>
    public const int Failure = 1;

    /// <summary>Bad usage, a rejected configuration, or an authentication failure.</summary>
    public const int Usage = 2;
}
