using Tern.Server.Clicks;

namespace Tern.Server.Tests.Clicks;

/// <summary>How many clicks a fold transaction takes on SQLite, where an API write waits for the one in progress.</summary>
public sealed class FoldChunkSizeTests
{
    [Fact]
    public void WithNoApiWriteTheFoldTakesItsWholeLimit() => Assert.Equal(2_000, ClickFolder.ChunkSize(2_000, apiWriting: false, microsPerClick: 500));

    [Fact]
    public void WhileTheApiWritesAChunkIsWhatFoldsWithinTheBudgetAtTheRecentPace()
    {
        var budget = ClickFolder.ApiFoldBudget.TotalMicroseconds;

        Assert.Equal((int)(budget / 50), ClickFolder.ChunkSize(2_000, apiWriting: true, microsPerClick: 50));
        Assert.Equal((int)(budget / 20), ClickFolder.ChunkSize(2_000, apiWriting: true, microsPerClick: 20));
    }

    [Fact]
    public void ASlowFoldStillTakesAFewClicksAndAFastOneNoMoreThanItsLimit()
    {
        Assert.Equal(25, ClickFolder.ChunkSize(2_000, apiWriting: true, microsPerClick: 10_000));
        Assert.Equal(2_000, ClickFolder.ChunkSize(2_000, apiWriting: true, microsPerClick: 0.01));
        Assert.Equal(2_000, ClickFolder.ChunkSize(2_000, apiWriting: true, microsPerClick: 0));
        Assert.Equal(10, ClickFolder.ChunkSize(10, apiWriting: true, microsPerClick: 10_000));
    }
}
