// The pipes of Splice's zero-copy path. A direction holds a pipe only while bytes flow (an idle
// pair holds none: two descriptors per direction would double a relay's descriptor count), and a
// few empty pipes are kept so that a burst does not cost pipe2(2) and two close(2) calls.
namespace Gray.Net.Internal;

internal sealed class PipePool
{
    /// <summary>Linux's default pipe capacity (16 pages), in bytes; a pipe keeps it when F_SETPIPE_SZ is refused.</summary>
    private const int DefaultPipeBytes = 64 * 1024;

    /// <summary>Largest capacity GRAY_SPLICE_PIPE_KIB may ask for, in KiB (the default pipe-max-size).</summary>
    private const int MaxPipeKibibytes = 1024;

    private const int BytesPerKibibyte = 1024;

    /// <summary>Empty pipes kept for the next burst (two descriptors each).</summary>
    private const int IdlePipesKept = 32;

    /// <summary>
    /// Pipes lent at once; past it a burst takes the buffered path. It bounds the descriptors and the
    /// kernel pipe memory (the per-user pipe-user-pages-soft budget is 64 MiB by default).
    /// </summary>
    private const int MaxPipesLent = 512;

    public static readonly PipePool Shared = new(ReadPipeSetting());

    private readonly object _gate = new();
    private readonly Pipe[] _idle = new Pipe[IdlePipesKept];
    private int _idleCount;
    private int _lent;

    private PipePool(int pipeBytes) => PipeBytes = pipeBytes;

    /// <summary>The capacity asked for each new pipe, in bytes.</summary>
    public int PipeBytes { get; }

    /// <summary>Pipes lent now (for tests: an idle pair holds none).</summary>
    public int Lent => Volatile.Read(ref _lent);

    /// <summary>An empty pipe; false when the bound is reached or none can be made (EMFILE, ENFILE).</summary>
    public bool TryRent(out Pipe pipe)
    {
        lock (_gate)
        {
            if (_lent >= MaxPipesLent)
            {
                pipe = default;
                return false;
            }

            _lent++;
            if (_idleCount > 0)
            {
                pipe = _idle[--_idleCount];
                _idle[_idleCount] = default;
                return true;
            }
        }

        if (LinuxSplice.TryCreatePipe(out int readEnd, out int writeEnd))
        {
            // A larger pipe moves more per splice(2) call; refused (the per-user pipe budget), it keeps 64 KiB.
            int capacity = PipeBytes == DefaultPipeBytes ? DefaultPipeBytes : LinuxSplice.TryResizePipe(writeEnd, PipeBytes) ?? DefaultPipeBytes;
            pipe = new Pipe(readEnd, writeEnd, capacity);
            return true;
        }

        lock (_gate) _lent--;
        pipe = default;
        return false;
    }

    /// <summary>Gives back a pipe; <paramref name="empty"/> false (bytes stranded after an error) closes it.</summary>
    public void Return(Pipe pipe, bool empty)
    {
        lock (_gate)
        {
            _lent--;
            if (empty && _idleCount < _idle.Length)
            {
                _idle[_idleCount++] = pipe;
                return;
            }
        }

        LinuxSplice.ClosePipe(pipe.ReadEnd, pipe.WriteEnd);
    }

    private static int ReadPipeSetting()
    {
        string? text = Environment.GetEnvironmentVariable("GRAY_SPLICE_PIPE_KIB");
        return int.TryParse(text, out int kibibytes) && kibibytes is >= 64 and <= MaxPipeKibibytes
            ? kibibytes * BytesPerKibibyte
            : DefaultPipeBytes;
    }

    /// <summary>The two ends of one pipe, and what it holds at most in bytes; the pool owns them while it is not lent.</summary>
    public readonly record struct Pipe(int ReadEnd, int WriteEnd, int Capacity);
}
