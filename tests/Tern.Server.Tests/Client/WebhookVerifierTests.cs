using Microsoft.Extensions.Time.Testing;
using Tern.Client;

namespace Tern.Server.Tests.Client;

public sealed class WebhookVerifierTests
{
    // The Standard Webhooks specification's test vector.
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string Id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const string Timestamp = "1614265330";
    private const string Body = """{"test": 2432232314}""";
    private const string Signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    private static readonly FakeTimeProvider AtTheVector = new(DateTimeOffset.FromUnixTimeSeconds(1614265330));

    [Fact]
    public void SignsTheSpecificationsTestVector() =>
        Assert.Equal(Signature, WebhookSignature.Sign(Secret, Id, Timestamp, Body));

    [Fact]
    public void AcceptsTheSpecificationsTestVector() =>
        new WebhookVerifier(Secret, AtTheVector).Verify(Body, Id, Timestamp, Signature);

    [Fact]
    public void AcceptsWhenAnyOfSeveralSignaturesMatchesAsAfterARotation() =>
        new WebhookVerifier(Secret, AtTheVector).Verify(Body, Id, Timestamp, "v1,bm90IHRoaXMgb25lIGF0IGFsbCBub3QgdGhpcyBvbmU= " + Signature);

    [Fact]
    public void RefusesATamperedBody() =>
        Assert.Throws<WebhookVerificationException>(() => new WebhookVerifier(Secret, AtTheVector).Verify("""{"test": 2432232315}""", Id, Timestamp, Signature));

    [Fact]
    public void RefusesATimestampOutsideTheTolerance()
    {
        var later = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1614265330).AddMinutes(6));

        Assert.Throws<WebhookVerificationException>(() => new WebhookVerifier(Secret, later).Verify(Body, Id, Timestamp, Signature));
    }

    [Fact]
    public void AgreesWithTheStandardWebhooksPackageOnSigning()
    {
        var theirs = new StandardWebhooks.StandardWebhook(Secret).Sign(Id, DateTimeOffset.FromUnixTimeSeconds(1614265330), Body);

        Assert.Equal(theirs, WebhookSignature.Sign(Secret, Id, Timestamp, Body));
    }
}
