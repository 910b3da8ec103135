// SIGHUP as the parent left it. nohup(1), and whatever runs under it (a test runner, a start
// script), hands SIGHUP down ignored; .NET's PosixSignalRegistration then installs no handler at
// all (the runtime "respects ignored signals") and every SIGHUP is dropped without a trace. Where
// SIGHUP means "read the configuration again", the ignore is taken back before registering.
using System.Runtime.InteropServices;

namespace Gray.Hosting;

internal static unsafe partial class HangupSignal
{
    private const int SigHup = 1;

    private const nint SigIgn = 1; // SIG_IGN; SIG_DFL is 0

    /// <summary>Room for struct sigaction: 152 bytes with glibc on x86-64 and arm64, less with musl.</summary>
    private const int SigactionBytes = 256;

    /// <summary>
    /// Sets SIGHUP back to its default action if it is ignored, so that the handler registered next is
    /// really installed; true if it was ignored. Linux only: there struct sigaction begins with the handler.
    /// </summary>
    public static bool TakeBackIfIgnored()
    {
        if (!OperatingSystem.IsLinux()) return false;
        byte* current = stackalloc byte[SigactionBytes];
        if (Sigaction(SigHup, null, current) != 0 || *(nint*)current != SigIgn) return false;
        byte* byDefault = stackalloc byte[SigactionBytes];
        new Span<byte>(byDefault, SigactionBytes).Clear(); // SIG_DFL, empty mask, no flags
        return Sigaction(SigHup, byDefault, null) == 0;
    }

    [LibraryImport("libc", EntryPoint = "sigaction", SetLastError = true)]
    private static partial int Sigaction(int signal, byte* action, byte* previous);
}
