// A test of something only Linux has (OpenSSL as the TLS library, /proc, signals): skipped, with the
// reason, on other systems, so that a green run never hides a test that did not run.
using Xunit;

namespace Gray.Testing;

public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "Linux only";
    }
}
