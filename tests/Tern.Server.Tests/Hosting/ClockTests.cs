using Microsoft.Extensions.Time.Testing;
using Tern.Server.Hosting;

namespace Tern.Server.Tests.Hosting;

public sealed class ClockTests
{
    [Fact]
    public void NowIsCutToTheMillisecondAsStorageHoldsIt()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 10, 0, 0, TimeSpan.Zero).AddTicks(12_345_678));

        Assert.Equal(new DateTimeOffset(2026, 12, 6, 10, 0, 1, 234, TimeSpan.Zero), clock.NowToTheMillisecond());
        Assert.Equal(clock.NowToTheMillisecond().ToUnixTimeMilliseconds(), clock.NowMs());
    }
}
