using System.Security.Cryptography;
using System.Text;
using Tern.Server.Webhooks;

namespace Tern.Server.Tests.Webhooks;

public sealed class WebhookSignatureTests
{
    // The Standard Webhooks specification's test vector.
    private const string SpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string SpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long SpecTimestamp = 1614265330;
    private const string SpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    private static readonly byte[] SpecBody = Encoding.UTF8.GetBytes("""{"test": 2432232314}""");

    /// <summary>Written straight from the specification, sharing no code with the signer.</summary>
    private static string ReferenceSignature(string secret, string id, long timestamp, byte[] body)
    {
        var key = Convert.FromBase64String(secret["whsec_".Length..]);
        var content = Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray();
        using var hmac = new HMACSHA256(key);
        return "v1," + Convert.ToBase64String(hmac.ComputeHash(content));
    }

    [Fact]
    public void SignsTheSpecificationTestVector() =>
        Assert.Equal(SpecSignature, WebhookSignature.Sign(SpecSecret, SpecId, SpecTimestamp, SpecBody));

    [Fact]
    public void ReferenceHmacAgreesWithTheSpecificationTestVector() =>
        Assert.Equal(SpecSignature, ReferenceSignature(SpecSecret, SpecId, SpecTimestamp, SpecBody));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(900)]
    [InlineData(1024)]
    [InlineData(5000)]
    [InlineData(300_000)]
    public void AgreesWithAReferenceHmacForBodiesOnAndOffTheStack(int bodyLength)
    {
        var secret = WebhookSignature.NewSecret();
        var body = new byte[bodyLength];
        new Random(bodyLength).NextBytes(body);

        Assert.Equal(ReferenceSignature(secret, "evt_01JABCDEF", 1_700_000_000, body),
            WebhookSignature.Sign(secret, "evt_01JABCDEF", 1_700_000_000, body));
    }

    [Fact]
    public void AgreesWithAReferenceHmacForANegativeTimestampAndANonAsciiId()
    {
        var body = Encoding.UTF8.GetBytes("{}");

        Assert.Equal(ReferenceSignature(SpecSecret, "évt_ü", long.MinValue, body),
            WebhookSignature.Sign(SpecSecret, "évt_ü", long.MinValue, body));
    }

    [Fact]
    public void VerifiesTheSpecificationTestVector() =>
        Assert.True(WebhookSignature.Verify(SpecSecret, SpecId, SpecTimestamp, SpecBody, SpecSignature));

    [Fact]
    public void RefusesATamperedBody()
    {
        var tampered = Encoding.UTF8.GetBytes("""{"test": 2432232315}""");

        Assert.False(WebhookSignature.Verify(SpecSecret, SpecId, SpecTimestamp, tampered, SpecSignature));
    }

    [Fact]
    public void RefusesATamperedTimestamp() =>
        Assert.False(WebhookSignature.Verify(SpecSecret, SpecId, SpecTimestamp + 1, SpecBody, SpecSignature));

    [Fact]
    public void RefusesATamperedId() =>
        Assert.False(WebhookSignature.Verify(SpecSecret, SpecId + "x", SpecTimestamp, SpecBody, SpecSignature));

    [Fact]
    public void RefusesASignatureMadeWithAnotherSecret() =>
        Assert.False(WebhookSignature.Verify(WebhookSignature.NewSecret(), SpecId, SpecTimestamp, SpecBody, SpecSignature));

    [Fact]
    public void HeaderSignsWithEverySecretNewestFirstSeparatedBySingleSpaces()
    {
        var newest = WebhookSignature.NewSecret();

        var header = WebhookSignature.Header([newest, SpecSecret], SpecId, SpecTimestamp, SpecBody);

        Assert.Equal($"{ReferenceSignature(newest, SpecId, SpecTimestamp, SpecBody)} {SpecSignature}", header);
    }

    [Fact]
    public void HeaderWithOneSecretIsThatSecretsSignature() =>
        Assert.Equal(SpecSignature, WebhookSignature.Header([SpecSecret], SpecId, SpecTimestamp, SpecBody));

    [Fact]
    public void EachSecretOfARotationVerifiesTheHeader()
    {
        var newest = WebhookSignature.NewSecret();
        var header = WebhookSignature.Header([newest, SpecSecret], SpecId, SpecTimestamp, SpecBody);

        Assert.True(WebhookSignature.Verify(newest, SpecId, SpecTimestamp, SpecBody, header));
        Assert.True(WebhookSignature.Verify(SpecSecret, SpecId, SpecTimestamp, SpecBody, header));
        Assert.False(WebhookSignature.Verify(WebhookSignature.NewSecret(), SpecId, SpecTimestamp, SpecBody, header));
    }

    [Fact]
    public void VerifyFindsItsSignatureAmongOtherVersionsAndExtraSpaces()
    {
        var header = $"v1a,c29tZXRoaW5nIGVsc2U=  v1,{Convert.ToBase64String(new byte[32])} {SpecSignature} ";

        Assert.True(WebhookSignature.Verify(SpecSecret, SpecId, SpecTimestamp, SpecBody, header));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("v1,")]
    [InlineData("v1")]
    [InlineData("v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE")]
    [InlineData("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE==")]
    [InlineData("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O==")]
    [InlineData("v1,g0hM9SsE OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE=")]
    [InlineData("v1,!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=")]
    [InlineData("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=g0hM")]
    [InlineData("v1,,v1,")]
    public void MalformedHeadersFailWithoutThrowing(string? header) =>
        Assert.False(WebhookSignature.Verify(SpecSecret, SpecId, SpecTimestamp, SpecBody, header));

    [Fact]
    public void NewSecretsAreWellFormedAndDistinct()
    {
        var first = WebhookSignature.NewSecret();
        var second = WebhookSignature.NewSecret();

        Assert.StartsWith("whsec_", first, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(first["whsec_".Length..]).Length);
        Assert.True(WebhookSignature.IsWellFormedSecret(first));
        Assert.NotEqual(first, second);
    }

    [Theory]
    [InlineData(SpecSecret, true)]
    [InlineData("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", true)]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("whsec_", false)]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false)]
    [InlineData("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false)]
    [InlineData("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", false)]
    [InlineData("whsec_MfKQ9r8GKYqrTwjU PD8ILPZIo2LaLaSw", false)]
    [InlineData("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ", false)]
    [InlineData("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2La-aSw", false)]
    [InlineData("whsec_dHdlbnR5LXRocmVlIGJ5dGVzIGxvbmc=", false)]
    [InlineData("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false)]
    public void RecognisesWellFormedSecrets(string? secret, bool expected) =>
        Assert.Equal(expected, WebhookSignature.IsWellFormedSecret(secret));

    [Fact]
    public void SigningWithAMalformedSecretThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => WebhookSignature.Sign("not-a-secret", SpecId, SpecTimestamp, SpecBody));
        Assert.Throws<ArgumentException>(() => WebhookSignature.Header([SpecSecret, "whsec_"], SpecId, SpecTimestamp, SpecBody));
        Assert.Throws<ArgumentException>(() => WebhookSignature.Header([], SpecId, SpecTimestamp, SpecBody));
    }
}
