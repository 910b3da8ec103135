// The zero-copy step of Splice on Linux: splice(2) moves bytes from one TCP socket into a pipe and
// from the pipe into the other socket inside the kernel, never through a user-space buffer.
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Gray.Net.Internal;

internal static partial class LinuxSplice
{
    /// <summary>How one <see cref="Transfer"/> call ended.</summary>
    public enum Step
    {
        /// <summary>The input socket has no byte left now; the pipe is empty.</summary>
        Drained,

        /// <summary>The input socket reached end of stream; the pipe is empty.</summary>
        EndOfStream,

        /// <summary>The output socket is full (EAGAIN); the pipe still holds bytes.</summary>
        OutputFull,

        /// <summary>Bytes keep coming: call again (after a cancellation check).</summary>
        Continue,

        /// <summary>splice(2) refuses these descriptors; the pipe is empty, so the portable path can take over.</summary>
        Unsupported,
    }

    /// <summary>Bytes taken in per call, so that one busy pair cannot hold a thread indefinitely.</summary>
    private const int MaxBytesPerCall = 1024 * 1024;

    // Linux's generic flag and errno values (x64, arm64 and the other common ABIs share them).
    private const uint SpliceMove = 1;
    private const uint SpliceNonBlock = 2;
    private const int OpenNonBlock = 0x800;
    private const int OpenCloseOnExec = 0x80000;
    private const int GetStatusFlags = 3;
    private const int SetPipeSize = 1031;
    private const int ErrBadDescriptor = 9;
    private const int ErrInterrupted = 4;
    private const int ErrAgain = 11;
    private const int ErrNoPermission = 1;
    private const int ErrInvalid = 22;
    private const int ErrPipe = 32;
    private const int ErrNoSys = 38;
    private const int ErrNotSupported = 95;
    private const int ErrNetReset = 102;
    private const int ErrConnAborted = 103;
    private const int ErrConnReset = 104;
    private const int ErrNotConnected = 107;
    private const int ErrTimedOut = 110;
    private const int ErrHostUnreachable = 113;

    /// <summary>True where this path can run at all: Linux on an ABI whose constants are the ones above.</summary>
    public static bool IsPlatformSupported { get; } = OperatingSystem.IsLinux() &&
        RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>A new pipe, both ends non-blocking and close-on-exec; false when none can be made (EMFILE, ENFILE).</summary>
    public static bool TryCreatePipe(out int readEnd, out int writeEnd)
    {
        Span<int> ends = stackalloc int[2];
        if (Pipe2(ends, OpenNonBlock | OpenCloseOnExec) != 0)
        {
            readEnd = writeEnd = -1;
            return false;
        }

        readEnd = ends[0];
        writeEnd = ends[1];
        return true;
    }

    /// <summary>Asks for a pipe capacity; the capacity granted (a power of two pages), or null if refused.</summary>
    public static int? TryResizePipe(int pipeEnd, int bytes)
    {
        int granted = Fcntl(pipeEnd, SetPipeSize, bytes);
        return granted > 0 ? granted : null;
    }

    public static void ClosePipe(int readEnd, int writeEnd)
    {
        Close(readEnd);
        Close(writeEnd);
    }

    /// <summary>
    /// True when the socket is in non-blocking mode at the descriptor level (.NET sets it on the first
    /// asynchronous operation); a blocking one could hold a thread-pool thread inside splice(2).
    /// </summary>
    public static bool IsNonBlocking(SafeHandle socket)
    {
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            int flags = Fcntl((int)socket.DangerousGetHandle(), GetStatusFlags, 0);
            return flags >= 0 && (flags & OpenNonBlock) != 0;
        }
        finally
        {
            if (added) socket.DangerousRelease();
        }
    }

    /// <summary>
    /// Moves bytes socket → pipe → socket until the input is drained or ends, the output is full, or
    /// <see cref="MaxBytesPerCall"/> came in. Never blocks. <paramref name="inPipe"/> is what the
    /// pipe holds, in and out. Both sockets are referenced for the call, so a concurrent close cannot
    /// make us use a descriptor number that has been reused; a closed socket throws ObjectDisposedException.
    /// </summary>
    public static Step Transfer(SafeHandle from, SafeHandle to, int pipeRead, int pipeWrite, int pipeBytes,
        ref int inPipe, out int received, out int sent)
    {
        received = 0;
        sent = 0;
        bool fromAdded = false, toAdded = false;
        try
        {
            from.DangerousAddRef(ref fromAdded);
            to.DangerousAddRef(ref toAdded);
            int fromFd = (int)from.DangerousGetHandle(), toFd = (int)to.DangerousGetHandle();
            while (received < MaxBytesPerCall)
            {
                if (inPipe == 0)
                {
                    nint filled = SpliceCall(fromFd, 0, pipeWrite, 0, (nuint)pipeBytes, SpliceMove | SpliceNonBlock);
                    if (filled < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == ErrInterrupted) continue;
                        if (errno == ErrAgain) return Step.Drained;
                        if (errno is ErrInvalid or ErrNoSys or ErrNoPermission or ErrNotSupported) return Step.Unsupported;
                        throw Failure(errno);
                    }

                    if (filled == 0) return Step.EndOfStream;
                    inPipe = (int)filled;
                    received += (int)filled;
                }

                while (inPipe > 0)
                {
                    nint drained = SpliceCall(pipeRead, 0, toFd, 0, (nuint)inPipe, SpliceMove | SpliceNonBlock);
                    if (drained < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == ErrInterrupted) continue;
                        if (errno == ErrAgain) return Step.OutputFull;
                        throw Failure(errno);
                    }

                    if (drained == 0) throw new IOException("splice(2) moved no byte out of a non-empty pipe.");
                    inPipe -= (int)drained;
                    sent += (int)drained;
                }
            }

            return Step.Continue;
        }
        finally
        {
            if (toAdded) to.DangerousRelease();
            if (fromAdded) from.DangerousRelease();
        }
    }

    /// <summary>Reads up to <paramref name="buffer"/>'s length of what the pipe holds (it holds at least one byte).</summary>
    public static int ReadPipe(int pipeRead, Span<byte> buffer)
    {
        while (true)
        {
            nint read = Read(pipeRead, buffer, (nuint)buffer.Length);
            if (read > 0) return (int)read;
            int errno = Marshal.GetLastPInvokeError();
            if (read < 0 && errno == ErrInterrupted) continue;
            throw new IOException($"A pipe that holds bytes could not be read (errno {errno}).");
        }
    }

    // Classified like the socket errors of the portable path, so that resets stay ordinary ends.
    private static IOException Failure(int errno)
    {
        SocketError code = errno switch
        {
            ErrConnReset => SocketError.ConnectionReset,
            ErrPipe => SocketError.Shutdown,
            ErrNotConnected => SocketError.NotConnected,
            ErrConnAborted => SocketError.ConnectionAborted,
            ErrTimedOut => SocketError.TimedOut,
            ErrHostUnreachable => SocketError.HostUnreachable,
            ErrNetReset => SocketError.NetworkReset,
            ErrBadDescriptor => SocketError.OperationAborted,
            _ => SocketError.SocketError,
        };
        return new IOException($"splice(2) failed (errno {errno}).", new SocketException((int)code));
    }

    [LibraryImport("libc", EntryPoint = "splice", SetLastError = true)]
    private static partial nint SpliceCall(int fdIn, nint offIn, int fdOut, nint offOut, nuint length, uint flags);

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static partial int Pipe2(Span<int> ends, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, Span<byte> buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);
}
