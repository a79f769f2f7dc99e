using System.Net;
using System.Net.Http.Headers;
using Tern.Server.Webhooks;

namespace Tern.Server.Tests.Webhooks;

public sealed class RetryScheduleTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static TimeSpan Seconds(double seconds) => TimeSpan.FromSeconds(seconds);

    [Fact]
    public void DefaultIsTheContractsSvixLikeSchedule()
    {
        TimeSpan[] expected = [Seconds(5), Seconds(300), Seconds(1800), Seconds(7200), Seconds(18000), Seconds(36000), Seconds(36000)];

        Assert.Equal(expected, RetrySchedule.Default.Delays);
        Assert.Equal(8, RetrySchedule.Default.MaxAttempts);
    }

    [Fact]
    public void DefaultKeepsRetryingForMoreThanADay() =>
        Assert.True(RetrySchedule.Default.TotalDelay > TimeSpan.FromHours(24));

    [Fact]
    public void ParsesSecondsWithSpacesAndFractions()
    {
        var schedule = RetrySchedule.Parse(" 0.5, 2 ,0,10");

        TimeSpan[] expected = [Seconds(0.5), Seconds(2), Seconds(0), Seconds(10)];
        Assert.Equal(expected, schedule.Delays);
        Assert.Equal(5, schedule.MaxAttempts);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void RefusesAnEmptyScheduleNamingTheConfigKey(string? text)
    {
        var error = Assert.Throws<InvalidOperationException>(() => RetrySchedule.Parse(text));

        Assert.Contains("Tern:Webhooks:RetryDelaysSeconds", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5,-300", "'-300'")]
    [InlineData("5,abc", "'abc'")]
    [InlineData("5,,300", "''")]
    [InlineData("5,300,", "''")]
    [InlineData("5;300", "'5;300'")]
    [InlineData("1e3", "'1e3'")]
    [InlineData("5,NaN", "'NaN'")]
    [InlineData("5,Infinity", "'Infinity'")]
    [InlineData("5,604801", "'604801'")]
    [InlineData("5,99999999999999999999", "'99999999999999999999'")]
    public void RefusesAnEntryThatIsNotANumberOfSecondsNamingTheConfigKeyAndTheEntry(string text, string quotedEntry)
    {
        var error = Assert.Throws<InvalidOperationException>(() => RetrySchedule.Parse(text));

        Assert.Contains("Tern:Webhooks:RetryDelaysSeconds", error.Message, StringComparison.Ordinal);
        Assert.Contains(quotedEntry, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConstructorRefusesNoDelaysAndNegativeDelays()
    {
        Assert.Throws<ArgumentException>(() => new RetrySchedule([]));
        Assert.Throws<ArgumentException>(() => new RetrySchedule([Seconds(5), Seconds(-1)]));
    }

    [Fact]
    public void WaitsTheScheduledDelayAfterEachFailedAttemptWithoutJitter()
    {
        var schedule = RetrySchedule.Parse("5,300,1800");

        Assert.Equal(Seconds(5), schedule.NextDelay(1, 0, null));
        Assert.Equal(Seconds(300), schedule.NextDelay(2, 0, null));
        Assert.Equal(Seconds(1800), schedule.NextDelay(3, 0, null));
    }

    [Fact]
    public void IsExhaustedOnceEveryAttemptHasFailed()
    {
        var schedule = RetrySchedule.Parse("5,300,1800");

        Assert.Equal(4, schedule.MaxAttempts);
        Assert.Null(schedule.NextDelay(4, 0, null));
        Assert.Null(schedule.NextDelay(5, 0.5, Seconds(10)));
    }

    [Theory]
    [InlineData(0.0, 100.0)]
    [InlineData(0.5, 110.0)]
    [InlineData(0.999999, 119.9999)]
    public void JitterOnlyLengthensADelayByUpToAFifth(double sample, double expectedSeconds)
    {
        var delay = RetrySchedule.Parse("100").NextDelay(1, sample, null)!.Value;

        Assert.Equal(expectedSeconds, delay.TotalSeconds, 3);
        Assert.InRange(delay, Seconds(100), Seconds(120));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void RefusesAJitterSampleOutsideTheUnitInterval(double sample) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrySchedule.Default.NextDelay(1, sample, null));

    [Fact]
    public void RefusesAFailedAttemptCountBelowOne() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrySchedule.Default.NextDelay(0, 0, null));

    [Fact]
    public void HonoursALongerRetryAfter() =>
        Assert.Equal(Seconds(120), RetrySchedule.Parse("5").NextDelay(1, 0.5, Seconds(120)));

    [Fact]
    public void RetryAfterNeverShortensTheSchedule()
    {
        var schedule = RetrySchedule.Parse("300");

        Assert.Equal(Seconds(330), schedule.NextDelay(1, 0.5, Seconds(10)));
        Assert.Equal(Seconds(330), schedule.NextDelay(1, 0.5, TimeSpan.Zero));
        Assert.Equal(Seconds(330), schedule.NextDelay(1, 0.5, Seconds(-60)));
    }

    [Fact]
    public void CapsRetryAfterAtAnHour()
    {
        Assert.Equal(TimeSpan.FromHours(1), RetrySchedule.MaxRetryAfter);
        Assert.Equal(TimeSpan.FromHours(1), RetrySchedule.Parse("5").NextDelay(1, 0, TimeSpan.FromDays(3)));
    }

    [Fact]
    public void TheCapNeverShortensAScheduledDelayLongerThanAnHour() =>
        Assert.Equal(Seconds(36000), RetrySchedule.Default.NextDelay(6, 0, TimeSpan.FromDays(3)));

    [Fact]
    public void ReadsRetryAfterSecondsFromA429Or503()
    {
        var header = new RetryConditionHeaderValue(Seconds(90));

        Assert.Equal(Seconds(90), RetrySchedule.RetryAfter(HttpStatusCode.TooManyRequests, header, Now));
        Assert.Equal(Seconds(90), RetrySchedule.RetryAfter(HttpStatusCode.ServiceUnavailable, header, Now));
    }

    [Fact]
    public void ReadsRetryAfterAsAnHttpDateAgainstTheGivenClock()
    {
        Assert.Equal(Seconds(600), RetrySchedule.RetryAfter(HttpStatusCode.TooManyRequests, new RetryConditionHeaderValue(Now.AddMinutes(10)), Now));
        Assert.Equal(TimeSpan.Zero, RetrySchedule.RetryAfter(HttpStatusCode.TooManyRequests, new RetryConditionHeaderValue(Now.AddMinutes(-10)), Now));
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    [InlineData(HttpStatusCode.OK)]
    public void IgnoresRetryAfterOnOtherStatuses(HttpStatusCode status) =>
        Assert.Null(RetrySchedule.RetryAfter(status, new RetryConditionHeaderValue(Seconds(90)), Now));

    [Fact]
    public void NoRetryAfterHeaderMeansNoRequestedWait() =>
        Assert.Null(RetrySchedule.RetryAfter(HttpStatusCode.TooManyRequests, null, Now));

    [Fact]
    public void ARetryAfterReadFromAResponseHeaderPostponesTheNextAttempt()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.TryAddWithoutValidation("Retry-After", "120");

        var wait = RetrySchedule.RetryAfter(response.StatusCode, response.Headers.RetryAfter, Now);

        Assert.Equal(Seconds(120), wait);
        Assert.Equal(Seconds(120), RetrySchedule.Parse("5,300").NextDelay(1, 0, wait));
    }
}
