using System.Globalization;
using System.Text;
using Tern.Contracts;

namespace Tern.Server.Dashboard;

/// <summary>
/// A time series as an <c>svg</c> bar chart, drawn on the server: no script, no inline style, one titled bar per bucket.
/// Only numbers and dates go in, so nothing needs encoding.
/// </summary>
public static class ClickChart
{
    private const int Width = 720;
    private const int Height = 200;
    private const int Left = 40;
    private const int Bottom = 22;

    public static string Svg(IReadOnlyList<TimeseriesPoint> points, string interval, string label)
    {
        var total = points.Sum(p => p.Clicks);
        var max = Math.Max(1, points.Count == 0 ? 0 : points.Max(p => p.Clicks));
        var svg = new StringBuilder(256 + points.Count * 160);
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg class=\"chart\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{label}: {total} {(total == 1 ? "click" : "clicks")} per {interval}\" data-total=\"{total}\">");
        var plotHeight = Height - Bottom - 8;
        svg.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{Left}\" y1=\"{Height - Bottom}\" x2=\"{Width}\" y2=\"{Height - Bottom}\" />");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"14\" text-anchor=\"end\">{max}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{Height - Bottom}\" text-anchor=\"end\">0</text>");
        if (points.Count > 0)
        {
            var step = (double)(Width - Left) / points.Count;
            var barWidth = Math.Max(1, step * 0.8);
            var format = interval == "hour" ? "yyyy-MM-dd HH:00" : "yyyy-MM-dd";
            for (var i = 0; i < points.Count; i++)
            {
                var point = points[i];
                var barHeight = point.Clicks == 0 ? 0 : Math.Max(2, (double)point.Clicks / max * plotHeight);
                var x = Left + i * step + (step - barWidth) / 2;
                var when = point.T.UtcDateTime.ToString(format, CultureInfo.InvariantCulture);
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect class=\"bar-rect\" x=\"{x:F1}\" y=\"{Height - Bottom - barHeight:F1}\" width=\"{barWidth:F1}\" height=\"{barHeight:F1}\" data-clicks=\"{point.Clicks}\"><title>{when}: {point.Clicks} {(point.Clicks == 1 ? "click" : "clicks")}</title></rect>");
            }

            var labels = Math.Min(6, points.Count);
            for (var l = 0; l < labels; l++)
            {
                var i = labels == 1 ? 0 : (int)Math.Round(l * (points.Count - 1) / (double)(labels - 1));
                var x = Math.Min(Left + i * step + step / 2, Width - 18);
                var when = points[i].T.UtcDateTime.ToString(interval == "hour" ? "MM-dd HH:00" : "MM-dd", CultureInfo.InvariantCulture);
                svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x:F1}\" y=\"{Height - 6}\" text-anchor=\"middle\">{when}</text>");
            }
        }

        return svg.Append("</svg>").ToString();
    }
}
