// The chart: throughput of each tunnel as a fraction of no tunnel (bars grouped by workload), and
// the relay's memory, idle and with 1,000 idle connections. Plain SVG, written by hand: no plotting package needed.
using System.Globalization;
using System.Net;
using System.Text;

namespace Gray.TunnelBench.Report;

internal static class SvgChart
{
    private const int Width = 960, LabelWidth = 250, BarHeight = 16, BarGap = 3, GroupGap = 16, Margin = 20;

    private const int LegendItemWidth = 150, LegendRowHeight = 20;

    private static readonly string[] Colors =
        ["#1f77b4", "#6baed6", "#2ca02c", "#98df8a", "#d62728", "#9467bd", "#8c564b"];

    public static string Render(Results r, IReadOnlyList<string> setups, RunInfo run)
    {
        var tunnels = setups.Where(s => s != Goals.Direct).ToList();
        Metric[] throughput =
            [Metrics.BulkUp, Metrics.BulkDown, Metrics.Bulk8, Metrics.RequestRate, Metrics.ConnectionRate];
        var body = new StringBuilder();
        int y = Margin + 40;
        double maxRatio = Math.Max(1,
            tunnels.SelectMany(s => throughput.Select(m => r.Ratio(s, Goals.Direct, m) ?? 0)).DefaultIfEmpty(1).Max());
        y = Section(body, y, "Throughput as a fraction of direct (no tunnel); longer is better", throughput, tunnels, r,
            (s, m) => r.Ratio(s, Goals.Direct, m) is { } ratio
                ? (ratio, $"{ratio:0.00}× ({MarkdownReport.Format(r.Median(s, m)!.Value)} {m.Unit})") : null,
            maxRatio, reference: 1.0);

        Metric[] memory = [Metrics.Rss("relay", 0), Metrics.Rss("relay", 1_000)];
        double maxMiB = tunnels.SelectMany(s => memory.Select(m => r.Median(s, m) ?? 0)).DefaultIfEmpty(1).Max();
        y = Section(body, y + GroupGap, "Relay RSS, idle and with 1,000 idle connections (MiB); shorter is better",
            memory, tunnels, r, (s, m) => r.Median(s, m) is { } mib ? (mib, $"{mib:0.0} MiB") : null,
            Math.Max(maxMiB, Goals.TlsRelayMiBAtThousand), reference: Goals.TlsRelayMiBAtThousand);

        int legendY = y + GroupGap;
        for (int i = 0, x = Margin; i < tunnels.Count; i++, x += LegendItemWidth)
        {
            if (x + LegendItemWidth > Width)
            {
                x = Margin; // a new row: levers can make the legend longer than the chart is wide
                legendY += LegendRowHeight;
            }

            body.AppendLine(Invariant(
                $"<rect x=\"{x}\" y=\"{legendY}\" width=\"12\" height=\"12\" fill=\"{Colors[i % Colors.Length]}\"/>"));
            body.AppendLine(Invariant($"<text x=\"{x + 16}\" y=\"{legendY + 11}\">{Escape(tunnels[i])}</text>"));
        }

        int height = legendY + 30;
        var svg = new StringBuilder();
        svg.AppendLine(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{height}\" ") +
            Invariant($"viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.AppendLine(Invariant($"<rect width=\"{Width}\" height=\"{height}\" fill=\"white\"/>"));
        svg.AppendLine(Invariant($"<text x=\"{Margin}\" y=\"{Margin + 4}\" font-size=\"15\" font-weight=\"bold\">") +
            Invariant($"Gray tunnel benchmark, {run.Started:yyyy-MM-dd}</text>"));
        svg.AppendLine(
            Invariant($"<text x=\"{Margin}\" y=\"{Margin + 22}\" fill=\"#555\">{Escape(run.Machine)}</text>"));
        svg.Append(body);
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static int Section(
        StringBuilder body, int y, string title, Metric[] metrics, List<string> tunnels, Results r,
        Func<string, Metric, (double Value, string Label)?> bar, double max, double reference)
    {
        double scale = (Width - LabelWidth - 2 * Margin - 170) / max;
        body.AppendLine(Invariant($"<text x=\"{Margin}\" y=\"{y}\" font-weight=\"bold\">{Escape(title)}</text>"));
        y += 10;
        int top = y;
        foreach (var metric in metrics)
        {
            body.AppendLine(Invariant($"<text x=\"{Margin}\" y=\"{y + BarHeight}\">{Escape(metric.Title)}</text>"));
            for (int i = 0; i < tunnels.Count; i++)
            {
                if (bar(tunnels[i], metric) is { } b)
                {
                    double width = Math.Max(1, b.Value * scale);
                    body.AppendLine(Invariant($"<rect x=\"{Margin + LabelWidth}\" y=\"{y}\" width=\"{width:0.0}\" ") +
                        Invariant($"height=\"{BarHeight}\" fill=\"{Colors[i % Colors.Length]}\"/>"));
                    body.AppendLine(Invariant($"<text x=\"{Margin + LabelWidth + width + 4:0.0}\" ") +
                        Invariant($"y=\"{y + BarHeight - 4}\">{Escape(b.Label)}</text>"));
                }

                y += BarHeight + BarGap;
            }

            y += GroupGap;
        }

        double referenceX = Margin + LabelWidth + reference * scale;
        body.AppendLine(Invariant($"<line x1=\"{referenceX:0.0}\" y1=\"{top - 4}\" x2=\"{referenceX:0.0}\" ") +
            Invariant($"y2=\"{y - GroupGap + 2}\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>"));
        return y;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
