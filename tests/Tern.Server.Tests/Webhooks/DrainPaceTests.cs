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
    public void WhileTheApiWritesABacklogDrainsAtThePace()
    {
        var pace = new DrainPace();
        var sent = 0;
        for (var now = 10_000L; now < 12_000; now++)
        {
            var allowed = pace.Allowance(now, apiWrites: true);
            pace.Took(allowed);
            sent += allowed;
        }

        // Two seconds at the pace, plus the first 50 ms allowed at once.
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
    public void APaceOfZeroNeverPaces()
    {
        var pace = new DrainPace(0);

        Assert.Equal(int.MaxValue, pace.Allowance(1_000, apiWrites: true));
        Assert.False(pace.Waiting);
        Assert.Equal(0, pace.Current);
    }

    [Fact]
    public void EachSecondOfMostlySlowApiWritesTakesAFifthOffThePaceDownToASixth()
    {
        var pace = new DrainPace();

        pace.HeldBack();
        pace.Judge(writes: 20, slow: 11);
        Assert.Equal(DrainPace.DefaultPerSecond * 0.8, pace.PerSecond(1_000), 3);
        pace.HeldBack();
        pace.Judge(writes: 20, slow: 11);
        Assert.Equal(DrainPace.DefaultPerSecond * 0.64, pace.PerSecond(2_000), 3);
        for (var second = 0; second < 20; second++)
        {
            Slow(pace);
        }

        Assert.Equal(DrainPace.DefaultPerSecond / 6.0, pace.PerSecond(3_000), 3);
        Assert.Equal(DrainPace.DefaultPerSecond / 6.0, pace.Current, 3);
    }

    [Fact]
    public void SecondsOfFastHalfSlowOrTooFewApiWritesGiveTheSlowedPaceBackATwelfthAtATime()
    {
        var pace = new DrainPace();
        for (var second = 0; second < 20; second++)
        {
            Slow(pace);
        }

        pace.HeldBack();
        pace.Judge(writes: 20, slow: 10); // half: not most
        pace.HeldBack();
        pace.Judge(writes: 2, slow: 2); // too few to tell
        pace.HeldBack();
        pace.Judge(writes: 0, slow: 0);

        Assert.Equal((DrainPace.DefaultPerSecond / 6.0) + (3 * DrainPace.DefaultPerSecond / 12.0), pace.PerSecond(1_000), 3);
        for (var second = 0; second < 20; second++)
        {
            pace.Judge(writes: 20, slow: 0);
        }

        Assert.Equal(DrainPace.DefaultPerSecond, pace.PerSecond(2_000), 3); // never above the configured pace
    }

    [Fact]
    public void APaceThatHeldNothingBackIsNotLoweredBySlowApiWrites()
    {
        var pace = new DrainPace();

        pace.Judge(writes: 20, slow: 20);
        pace.HeldBack();
        pace.Judge(writes: 20, slow: 20);
        pace.Judge(writes: 20, slow: 20); // held back in the second before last only

        Assert.Equal((DrainPace.DefaultPerSecond * 0.8) + (DrainPace.DefaultPerSecond / 12.0), pace.Current, 3);
    }

    [Fact]
    public void ASlowedPaceStillSendsAQuarterFasterThanDeliveriesArrive()
    {
        var pace = new DrainPace();
        for (var second = 0; second < 20; second++)
        {
            Slow(pace);
        }

        for (var second = 0; second < 6; second++)
        {
            pace.Arrived(3_000, 20_000 + (second * 1_000));
        }

        Assert.Equal(3_750, pace.PerSecond(25_500), 3);
    }

    /// <summary>A second of slow API writes in which the pace held sends back.</summary>
    private static void Slow(DrainPace pace)
    {
        pace.HeldBack();
        pace.Judge(writes: 20, slow: 20);
    }

    [Fact]
    public void ThePaceIsTheConfiguredOne()
    {
        Assert.Equal(20_000, new DrainPace(20_000).PerSecond(1_000), 3);
    }

    [Fact]
    public void ANodesPaceStartsAtItsShareAndClimbsBackToTheWholeByTwelfths()
    {
        var pace = new DrainPace(6_000, startingShare: 0.5);
        var seen = new List<double> { pace.Current };
        for (var second = 0; second < 8; second++)
        {
            pace.Judge(writes: 100, slow: 0);
            seen.Add(pace.Current);
        }

        Assert.Equal([3_000, 3_500, 4_000, 4_500, 5_000, 5_500, 6_000, 6_000, 6_000], seen);
        Assert.Equal(3_000 / 20, new DrainPace(6_000, startingShare: 0.5).Allowance(1_000, apiWrites: true));
    }
}
