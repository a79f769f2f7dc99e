using Tern.Server.Storage;
using Tern.Server.Storage.Sqlite;

namespace Tern.Server.Tests.Storage;

public sealed class WriterGateTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AForegroundWriteGoesBeforeBackgroundWritesThatWereWaitingFirst()
    {
        var gate = new WriterGate();
        await gate.EnterAsync(WritePriority.Background, Ct);
        var order = new List<string>();
        var background = Take(gate, WritePriority.Background, "background", order);
        var foreground = Take(gate, WritePriority.Foreground, "foreground", order);

        gate.Exit();
        await Task.WhenAll(background, foreground);

        Assert.Equal(["foreground", "background"], order);
    }

    [Theory]
    [InlineData(WritePriority.Foreground)]
    [InlineData(WritePriority.Clicks)]
    public async Task WaitingBackgroundWorkGetsATurnAfterEveryFewWritesOfAHigherKind(WritePriority higher)
    {
        var gate = new WriterGate();
        await gate.EnterAsync(higher, Ct);
        var order = new List<string>();
        var waiting = new List<Task> { Take(gate, WritePriority.Background, "background", order) };
        waiting.AddRange(Enumerable.Range(0, WriterGate.TurnsInARow + 2).Select(i => Take(gate, higher, $"{higher} {i}", order)));

        gate.Exit();
        await Task.WhenAll(waiting);

        Assert.Equal("background", order[WriterGate.TurnsInARow]);
        Assert.Equal(WriterGate.TurnsInARow + 3, order.Count);
    }

    [Fact]
    public async Task ClickAppendsGoAfterForegroundWritesAndBeforeBackgroundOnesThatWereWaitingFirst()
    {
        var gate = new WriterGate();
        await gate.EnterAsync(WritePriority.Background, Ct);
        var order = new List<string>();
        var waiting = new List<Task>
        {
            Take(gate, WritePriority.Background, "fold", order),
            Take(gate, WritePriority.Clicks, "append", order),
            Take(gate, WritePriority.Foreground, "link", order),
        };

        gate.Exit();
        await Task.WhenAll(waiting);

        Assert.Equal(["link", "append", "fold"], order);
    }

    [Fact]
    public async Task AWaiterThatGivesUpIsPassedOver()
    {
        var gate = new WriterGate();
        await gate.EnterAsync(WritePriority.Foreground, Ct);
        using var giveUp = new CancellationTokenSource();
        var abandoned = gate.EnterAsync(WritePriority.Foreground, giveUp.Token);
        var order = new List<string>();
        var next = Take(gate, WritePriority.Background, "background", order);

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        gate.Exit();
        await next;

        Assert.Equal(["background"], order);
    }

    /// <summary>Waits for the writer, notes the turn, and hands the writer on.</summary>
    private static async Task Take(WriterGate gate, WritePriority priority, string name, List<string> order)
    {
        await gate.EnterAsync(priority, Ct);
        lock (order)
        {
            order.Add(name);
        }

        gate.Exit();
    }
}
