using Tern.Server.Webhooks;

namespace Tern.Server.Tests.Webhooks;

public sealed class AdaptiveConcurrencyTests
{
    [Fact]
    public void FastAnswersThatUseTheLimitRaiseItByOneEachUntilTheFirstTrouble()
    {
        var limit = new AdaptiveConcurrency(initial: 4, max: 64);

        Answer(limit, times: 8, latencyMs: 2);

        Assert.Equal(12, limit.Limit);
    }

    [Fact]
    public void ALimitThatIsNotInUseIsNotRaised()
    {
        var limit = new AdaptiveConcurrency(initial: 4, max: 64);

        Answer(limit, times: 100, latencyMs: 2, saturated: false);

        Assert.Equal(4, limit.Limit);
    }

    [Fact]
    public void TheLimitNeverPassesItsMaximum()
    {
        var limit = new AdaptiveConcurrency(initial: 4, max: 10);

        Answer(limit, times: 1000, latencyMs: 2);

        Assert.Equal(10, limit.Limit);
    }

    [Fact]
    public void AnOverloadHalvesTheLimitOnceForAWindowOfAnswers()
    {
        var limit = new AdaptiveConcurrency(initial: 32, max: 64);

        // Every request in flight when the receiver fell over comes back failed: one halving, not thirty-two.
        for (var i = 0; i < 10; i++)
        {
            limit.OnCompleted(ReceiverSignal.Overloaded, 1, saturated: true);
        }

        Assert.Equal(16, limit.Limit);

        // A window (16 answers) after the first halving, failures count again.
        for (var i = 0; i < 8; i++)
        {
            limit.OnCompleted(ReceiverSignal.Overloaded, 1, saturated: true);
        }

        Assert.Equal(8, limit.Limit);
    }

    [Fact]
    public void FailuresBringTheLimitDownToOneAndNoLower()
    {
        var limit = new AdaptiveConcurrency(initial: 64, max: 64);

        for (var i = 0; i < 500; i++)
        {
            limit.OnCompleted(ReceiverSignal.Overloaded, 10_000, saturated: true);
        }

        Assert.Equal(1, limit.Limit);
    }

    [Fact]
    public void AnswersMuchSlowerThanTheBaselineTakeATenthOff()
    {
        var limit = new AdaptiveConcurrency(initial: 40, max: 64);
        Answer(limit, times: 1, latencyMs: 2, saturated: false);

        limit.OnCompleted(ReceiverSignal.Answered, 200, saturated: true);

        Assert.Equal(36, limit.Limit);
        Assert.Equal(2, limit.BaselineMs);
    }

    [Fact]
    public void AfterTroubleTheLimitGrowsByOneAWindow()
    {
        var limit = new AdaptiveConcurrency(initial: 20, max: 64);
        limit.OnCompleted(ReceiverSignal.Overloaded, 1, saturated: true);
        Assert.Equal(10, limit.Limit);

        Answer(limit, times: 12, latencyMs: 1);

        Assert.Equal(11, limit.Limit);
    }

    [Fact]
    public void ALaneRestsAfterFiveFailuresInARowAndThenProbesWithOneRequest()
    {
        var lane = new EndpointLane("wh_1", 8, 64);
        lane.Ready.Enqueue(null!);
        for (var i = 0; i < EndpointLane.FailuresBeforeRest - 1; i++)
        {
            lane.Count(succeeded: false, now: 1_000);
        }

        Assert.True(lane.CanSend(1_000));
        lane.Count(succeeded: false, now: 1_000);
        Assert.False(lane.CanSend(1_999));
        Assert.Equal(0, lane.Wanted(1_999, periodicLook: true));
        Assert.True(lane.CanSend(2_000));
        lane.InFlight = 1;
        Assert.False(lane.CanSend(2_000)); // one probe at a time while failing
        lane.Count(succeeded: false, now: 2_000);
        Assert.False(lane.CanSend(3_999)); // a longer rest after the next failure
        lane.InFlight = 0;
        lane.Count(succeeded: true, now: 4_000);
        Assert.True(lane.CanSend(4_000));
    }

    [Fact]
    public void AnAnnouncedLaneWhoseClaimFoundNothingWaitsForACommitButNotForThePeriodicLook()
    {
        var lane = new EndpointLane("wh_1", 8, 64) { AnnouncedUntil = 1_250 };
        Assert.True(lane.Wanted(1_000, periodicLook: false) > 0);

        lane.Claimed(asked: 16, taken: 0, seconds: 0.001);
        lane.AwaitingCommit = true;
        Assert.Equal(0, lane.Wanted(1_001, periodicLook: false));
        Assert.True(lane.Wanted(1_001, periodicLook: true) > 0);

        lane.AwaitingCommit = false; // a commit was signalled
        Assert.True(lane.Wanted(1_002, periodicLook: false) > 0);
    }

    private static void Answer(AdaptiveConcurrency limit, int times, double latencyMs, bool saturated = true)
    {
        for (var i = 0; i < times; i++)
        {
            limit.OnCompleted(ReceiverSignal.Answered, latencyMs, saturated);
        }
    }
}
