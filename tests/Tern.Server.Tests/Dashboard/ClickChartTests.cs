using Tern.Contracts;
using Tern.Server.Dashboard;

namespace Tern.Server.Tests.Dashboard;

public sealed class ClickChartTests
{
    [Fact]
    public void DrawsOneTitledBarPerBucketScaledToTheBusiestAndNamesTheTotal()
    {
        var day = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var svg = ClickChart.Svg([new(day, 4), new(day.AddDays(1), 0), new(day.AddDays(2), 1)], "day", "Clicks");

        Assert.StartsWith("<svg class=\"chart\"", svg, StringComparison.Ordinal);
        Assert.Contains("aria-label=\"Clicks: 5 clicks per day\"", svg, StringComparison.Ordinal);
        Assert.Equal(3, svg.Split("<rect ").Length - 1);
        Assert.Contains("<title>2026-12-01: 4 clicks</title>", svg, StringComparison.Ordinal);
        Assert.Contains("<title>2026-12-03: 1 click</title>", svg, StringComparison.Ordinal);
        Assert.Contains("height=\"170.0\" data-clicks=\"4\"", svg, StringComparison.Ordinal);
        Assert.Contains("height=\"0.0\" data-clicks=\"0\"", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmptySeriesIsAnEmptyChartNotAnError()
    {
        var svg = ClickChart.Svg([], "hour", "Clicks");
        Assert.Contains("0 clicks per hour", svg, StringComparison.Ordinal);
        Assert.DoesNotContain("<rect", svg, StringComparison.Ordinal);
    }
}
