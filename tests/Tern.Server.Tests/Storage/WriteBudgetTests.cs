using Tern.Server.Storage;

namespace Tern.Server.Tests.Storage;

/// <summary>How many items a background transaction takes where an API write waits for the one in progress.</summary>
public sealed class WriteBudgetTests
{
    [Fact]
    public void WithNoApiWriteTheWorkTakesItsWholeLimit() => Assert.Equal(2_000, WriteBudget.Size(2_000, apiWriting: false, microsPerItem: 500, fewest: 25));

    [Fact]
    public void WhileTheApiWritesATransactionTakesWhatFitsInTheBudgetAtTheRecentPace()
    {
        var budget = WriteBudget.Budget.TotalMicroseconds;

        Assert.Equal((int)(budget / 50), WriteBudget.Size(2_000, apiWriting: true, microsPerItem: 50, fewest: 25));
        Assert.Equal((int)(budget / 20), WriteBudget.Size(2_000, apiWriting: true, microsPerItem: 20, fewest: 25));
    }

    [Fact]
    public void SlowWorkStillTakesAFewItemsAndFastWorkNoMoreThanItsLimit()
    {
        Assert.Equal(25, WriteBudget.Size(2_000, apiWriting: true, microsPerItem: 10_000, fewest: 25));
        Assert.Equal(2_000, WriteBudget.Size(2_000, apiWriting: true, microsPerItem: 0.01, fewest: 25));
        Assert.Equal(2_000, WriteBudget.Size(2_000, apiWriting: true, microsPerItem: 0, fewest: 25));
        Assert.Equal(10, WriteBudget.Size(10, apiWriting: true, microsPerItem: 10_000, fewest: 25));
    }
}
