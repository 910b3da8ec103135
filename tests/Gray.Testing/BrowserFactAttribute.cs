// A test that drives Debian's Chromium: skipped, with the reason, where it is not installed (CI installs
// it), so that a green run never hides a test that did not run.
using Xunit;

namespace Gray.Testing;

public sealed class BrowserFactAttribute : FactAttribute
{
    /// <summary>Debian's chromium package; Playwright's own browser download does not work offline.</summary>
    public const string Chromium = "/usr/bin/chromium";

    public BrowserFactAttribute()
    {
        if (!File.Exists(Chromium)) Skip = $"{Chromium} is not installed (apt-get install chromium)";
    }
}
