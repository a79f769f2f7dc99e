using Tern.Server.Webhooks;

namespace Tern.Server.Tests.Webhooks;

public sealed class DrainPaceTests
{
    [Fact]
    public void WithoutApiWritesSendsAreNotPaced()
    {
        var pace = new DrainPace();

        Assert.Equal(int.MaxValue, pace.Allowance(1_000, apiWrites: false));
        pace.Took(10_000);
        Assert.Equal(int.MaxValue, pace.Allowance(1_001, apiWrites: false));
        Assert.False(pace.Waiting);
    }

    [Fact]
    public void WhileTheApiWritesABacklogDrainsAtTheFloor()
    {
        var pace = new DrainPace();
        var sent = 0;
        for (var now = 10_000L; now < 12_000; now++)
        {
            var allowed = pace.Allowance(now, apiWrites: true);
            pace.Took(allowed);
            sent += allowed;
        }

        // Two seconds at the floor, plus the first 50 ms allowed at once.
        Assert.InRange(sent, 2 * DrainPace.DefaultPerSecond, (2 * DrainPace.DefaultPerSecond) + (DrainPace.DefaultPerSecond / 20) + 2);
        Assert.True(pace.Waiting);
    }

    [Fact]
    public void DeliveriesThatKeepArrivingAreSentAQuarterFasterThanTheyCome()
    {
        var pace = new DrainPace();
        for (var second = 0; second < 6; second++)
        {
            pace.Arrived(12_000, 20_000 + (second * 1_000));
        }

        Assert.Equal(15_000, pace.PerSecond(25_500), 3);
        Assert.Equal(DrainPace.DefaultPerSecond, pace.PerSecond(40_000), 3); // nothing arrived for a while
    }

    [Fact]
    public void APausedPaceStartsAgainWithABurstOnly()
    {
        var pace = new DrainPace();
        Assert.Equal(DrainPace.DefaultPerSecond / 20, pace.Allowance(1_000, apiWrites: true));
        pace.Took(DrainPace.DefaultPerSecond / 20);
        Assert.Equal(int.MaxValue, pace.Allowance(5_000, apiWrites: false));
        Assert.Equal(DrainPace.DefaultPerSecond / 20, pace.Allowance(60_000, apiWrites: true)); // not a minute's worth
    }

    [Fact]
    public void AFloorOfZeroNeverPaces()
    {
        var pace = new DrainPace(0);

        Assert.Equal(int.MaxValue, pace.Allowance(1_000, apiWrites: true));
        Assert.False(pace.Waiting);
    }

    [Fact]
    public void TheFloorIsTheConfiguredOne()
    {
        Assert.Equal(20_000, new DrainPace(20_000).PerSecond(1_000), 3);
    }
}
