// Host names as servers claim them and as clients ask for them: normalized, checked, and matched exact
// first, then by a wildcard one level up.
using Gray.Relay.HostRouting;

namespace Gray.Tests.Relay.HostRouting;

public class HostNameTests
{
    [Theory]
    [InlineData("App.Example.ORG", "app.example.org")]
    [InlineData("app.example.org.", "app.example.org")]
    [InlineData("*.Dev.Example.org", "*.dev.example.org")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData("localhost", "localhost")]
    public void Claims_are_kept_in_lower_case_without_the_root_dot(string claim, string stored) =>
        Assert.Equal(stored, HostName.NormalizeClaim(claim));

    [Theory]
    [InlineData("")]
    [InlineData("exa mple.org")]
    [InlineData("-app.example.org")]
    [InlineData("app-.example.org")]
    [InlineData("app..example.org")]
    [InlineData("app_1.example.org")]
    [InlineData("*.org")] // a wildcard over a whole top-level domain
    [InlineData("a.*.example.org")]
    [InlineData("**.example.org")]
    [InlineData("127.0.0.1")]
    public void A_claim_that_is_not_a_host_name_is_refused_with_what_is_wrong(string claim)
    {
        var error = Assert.Throws<FormatException>(() => HostName.NormalizeClaim(claim));
        Assert.Contains("host name", error.Message.Replace("two labels", "host name"));
    }

    [Fact]
    public void A_label_or_name_too_long_is_refused()
    {
        Assert.Throws<FormatException>(() => HostName.NormalizeClaim(new string('a', 64) + ".example.org"));
        string longest = string.Join('.', Enumerable.Repeat(new string('a', 63), 4))[..253];
        Assert.Equal(253, HostName.NormalizeClaim(longest).Length);
        Assert.Throws<FormatException>(() => HostName.NormalizeClaim(longest + "a"));
    }

    [Theory]
    [InlineData("APP.example.org", "app.example.org")]
    [InlineData("app.example.org.", "app.example.org")]
    [InlineData("10.0.0.1", null)]
    [InlineData("[::1]", null)]
    [InlineData("*.example.org", null)] // a client asks for a name, never a wildcard
    [InlineData("", null)]
    public void A_requested_name_is_normalized_or_rejected(string asked, string? name) =>
        Assert.Equal(name, HostName.NormalizeRequest(asked));

    [Fact]
    public void An_exact_claim_wins_and_a_wildcard_covers_one_level_only()
    {
        var table = HostTable.From([
            ("app.example.org", "app"), ("*.dev.example.org", "dev"), ("api.dev.example.org", "api"),
        ]);

        Assert.Equal("app", table.Find("app.example.org"));
        Assert.Equal("dev", table.Find("feature-1.dev.example.org"));
        Assert.Equal("api", table.Find("api.dev.example.org")); // exact over the wildcard
        Assert.Null(table.Find("dev.example.org")); // the wildcard's own apex
        Assert.Null(table.Find("a.feature-1.dev.example.org")); // two levels down
        Assert.Null(table.Find("example.org"));
        Assert.Null(table.Find("other.example.org"));
    }
}
