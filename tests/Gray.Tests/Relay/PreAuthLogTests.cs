// Failures anyone can cause, as fast as they like: counted every time, logged at Debug, and warned
// about once per reason per minute; text from outside cannot forge log lines or drive a terminal.
using System.Net;
using Gray.Hosting;
using Gray.Relay;
using Gray.Tests.Harness;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Gray.Tests.Relay;

public class PreAuthLogTests
{
    [Fact]
    public void Nine_thousand_bad_proofs_make_one_warning_a_minute()
    {
        var log = new ListLogger();
        var time = new FakeTimeProvider();
        using var metrics = new RelayMetrics();
        var preAuth = new PreAuthLog(log, metrics, time);
        var from = new IPEndPoint(IPAddress.Parse("203.0.113.7"), 40000);
        for (int i = 0; i < 9000; i++) preAuth.Failed("bad proof", from, "server id 'web'");
        preAuth.Failed("bad otp", from, "server web");

        Assert.Equal(9000, preAuth.Total("bad proof"));
        Assert.Equal(9001, log.Entries.Count(e => e.Level == LogLevel.Debug));
        Assert.Equal(2, log.Entries.Count(e => e.Level == LogLevel.Warning)); // one per reason

        time.Advance(PreAuthLog.SummaryInterval);
        preAuth.Failed("bad proof", from, "server id 'web'");
        var warnings = log.Entries.Where(e => e.Level == LogLevel.Warning).ToList();
        Assert.Equal(3, warnings.Count);
        Assert.Contains("9000 time(s)", warnings[^1].Message); // every failure since the last warning
    }

    [Fact]
    public void Outside_text_is_escaped_and_cut()
    {
        Assert.Equal("web", LogText.Escape("web"));
        Assert.Equal("bad\\x0D\\x0Afake line \\x1B[31mred\\u202E",
            LogText.Escape("bad\r\nfake line \u001b[31mred\u202e"));
        string escaped = LogText.Escape(new string('x', 10_000));
        Assert.Equal(LogText.MaxChars + 1, escaped.Length);
        Assert.EndsWith("…", escaped);
    }
}
