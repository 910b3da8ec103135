// Lets OpenSSL free a TLS connection's record buffers while they are empty (SSL_MODE_RELEASE_BUFFERS,
// which nginx sets on every connection). .NET does not set it, so every idle SslStream on Linux kept
// about 33 KiB of native read and write buffers (49 KiB of OpenSSL heap per idle server connection,
// 16 KiB with the mode): with thousands of idle tunnels, most of the relay's memory.
using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Gray.Net.Internal;

internal static class OpenSslBuffers
{
    private const int SslCtrlMode = 33; // SSL_CTRL_MODE: ORs the argument into the connection's mode

    private const nint SslModeReleaseBuffers = 0x10; // SSL_MODE_RELEASE_BUFFERS

    /// <summary>OpenSSL 3.x, as OPENSSL_VERSION_NUMBER's major nibble: the one whose soname is bound below.</summary>
    private const long OpenSsl3 = 3;

    /// <summary>The runtime's handle type whose handle is OpenSSL's SSL* (checked by name: it is internal).</summary>
    private const string SslHandleTypeName = "Microsoft.Win32.SafeHandles.SafeSslHandle";

    // SslStream's private field that holds the connection's native handle
    // (.NET 10 on Linux; the type is checked at use).
    private static readonly FieldInfo? s_context = OperatingSystem.IsLinux()
        ? typeof(SslStream).GetField("_securityContext", BindingFlags.NonPublic | BindingFlags.Instance)
        : null;

    // Decided once: the runtime's private layout and the library do not change while the process runs.
    private static readonly bool s_available = s_context is not null && RuntimeUsesOpenSsl3() && SslCtrlIsExported();

    /// <summary>
    /// Asks OpenSSL to release <paramref name="ssl"/>'s buffers whenever they hold nothing. Call it after
    /// the handshake and before anyone reads or writes: an SSL object must not be used from two threads
    /// at once. Best effort: where the runtime's internals differ, nothing happens.
    /// </summary>
    public static void ReleaseWhenIdle(SslStream ssl)
    {
        if (!s_available) return;
        try
        {
            if (s_context!.GetValue(ssl) is not SafeHandle handle || handle.GetType().FullName != SslHandleTypeName)
            {
                return; // another runtime layout: do not guess what the handle is
            }

            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                SslCtrl(handle.DangerousGetHandle(), SslCtrlMode, SslModeReleaseBuffers, 0);
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }
        catch (ObjectDisposedException)
        {
            // The connection already closed.
        }
        catch (Exception error)
            when (error is DllNotFoundException or EntryPointNotFoundException or FieldAccessException)
        {
            // Best effort: the connection keeps its buffers.
        }
    }

    /// <summary>
    /// True if OpenSSL releases <paramref name="ssl"/>'s idle buffers; null where that cannot be asked (for tests).
    /// </summary>
    internal static bool? ReleasesBuffers(SslStream ssl)
    {
        if (!s_available || s_context!.GetValue(ssl) is not SafeHandle handle
            || handle.GetType().FullName != SslHandleTypeName)
        {
            return null;
        }

        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            // ORing 0 reads the mode
            return (SslCtrl(handle.DangerousGetHandle(), SslCtrlMode, 0, 0) & SslModeReleaseBuffers) != 0;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    private static bool RuntimeUsesOpenSsl3()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return System.Security.Cryptography.SafeEvpPKeyHandle.OpenSslVersion >> 28 == OpenSsl3;
        }
        catch (Exception)
        {
            return false;
        }
    }

    private static bool SslCtrlIsExported() =>
        NativeLibrary.TryLoad(LibSsl, out nint library) && NativeLibrary.TryGetExport(library, "SSL_ctrl", out _);

    private const string LibSsl = "libssl.so.3";

    // The runtime loads libssl.so.3 first; binding to the same soname reaches the same library.
    // DllImport, not LibraryImport: every argument is blittable, and the library needs no unsafe code.
    [DllImport(LibSsl, EntryPoint = "SSL_ctrl", ExactSpelling = true)]
    private static extern nint SslCtrl(nint ssl, int command, nint argument, nint pointer);
}
