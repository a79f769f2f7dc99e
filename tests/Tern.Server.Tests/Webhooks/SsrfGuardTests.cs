using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Tern.Server.Webhooks;

namespace Tern.Server.Tests.Webhooks;

public sealed class SsrfGuardTests
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    [Theory]
    // IPv4: "this network", private, CGNAT, loopback, link-local and cloud metadata
    [InlineData("0.0.0.0")]
    [InlineData("0.1.2.3")]
    [InlineData("10.0.0.1")]
    [InlineData("10.255.255.255")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.254")]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.255.254")]
    [InlineData("169.254.0.1")]
    [InlineData("169.254.169.254")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.0.1")]
    [InlineData("192.168.255.255")]
    // IPv4: protocol assignments, documentation, benchmarking, 6to4 relay, multicast, reserved, broadcast
    [InlineData("192.0.0.1")]
    [InlineData("192.0.0.170")]
    [InlineData("192.0.2.1")]
    [InlineData("192.88.99.1")]
    [InlineData("198.18.0.1")]
    [InlineData("198.19.255.255")]
    [InlineData("198.51.100.7")]
    [InlineData("203.0.113.9")]
    [InlineData("224.0.0.1")]
    [InlineData("239.255.255.250")]
    [InlineData("240.0.0.1")]
    [InlineData("255.255.255.255")]
    // IPv6: unspecified, loopback, link-local, site-local, ULA, multicast, documentation, discard
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("febf:ffff::1")]
    [InlineData("fec0::1")]
    [InlineData("feff::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456:789a::1")]
    [InlineData("ff02::1")]
    [InlineData("ff0e::1")]
    [InlineData("2001:db8::1")]
    [InlineData("2001:db8:ffff:ffff::1")]
    [InlineData("3fff::1")]
    [InlineData("100::1")]
    [InlineData("100::ffff:ffff:ffff:ffff")]
    // IPv6 forms embedding a forbidden IPv4 address: mapped, compatible, NAT64, 6to4
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::127.0.0.1")]
    [InlineData("::10.0.0.1")]
    [InlineData("64:ff9b::7f00:1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("2002:7f00:1::1")]
    [InlineData("2002:a9fe:a9fe::1")]
    [InlineData("2002:c0a8:101::")]
    // IPv6 forms that hide their IPv4 end: local-use NAT64, Teredo; and other non-global space
    [InlineData("64:ff9b:1::1")]
    [InlineData("64:ff9b:1::808:808")]
    [InlineData("2001::1")]
    [InlineData("2001:0:4136:e378:8000:63bf:3fff:fdd2")]
    [InlineData("2001:2::1")]
    [InlineData("2001:10::1")]
    [InlineData("2001:20::1")]
    [InlineData("::ffff:0:7f00:1")]
    [InlineData("4000::1")]
    public void ForbidsAddressesInsideTheNetwork(string address) =>
        Assert.True(SsrfGuard.IsForbidden(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("1.1.1.1")]
    [InlineData("9.9.9.9")]
    [InlineData("11.0.0.1")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.0")]
    [InlineData("169.253.255.255")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.0")]
    [InlineData("192.0.1.1")]
    [InlineData("192.167.255.255")]
    [InlineData("192.169.0.0")]
    [InlineData("198.17.255.255")]
    [InlineData("198.20.0.0")]
    [InlineData("223.255.255.255")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("2001:4860:4860::8888")]
    [InlineData("2a00:1450:4001:82b::200e")]
    [InlineData("2001:db9::1")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("::8.8.8.8")]
    [InlineData("64:ff9b::808:808")]
    [InlineData("2002:808:808::1")]
    public void AllowsPublicAddresses(string address) =>
        Assert.False(SsrfGuard.IsForbidden(IPAddress.Parse(address)));

    [Fact]
    public void ForbidsAScopedLinkLocalAddress() =>
        Assert.True(SsrfGuard.IsForbidden(new IPAddress(IPAddress.Parse("fe80::1").GetAddressBytes(), scopeid: 2)));

    [Theory]
    [InlineData("https://example.com/hooks/tern")]
    [InlineData("http://example.com:8080/a?b=c#d")]
    [InlineData("https://hooks.slack.com/services/T000/B000/XXXX")]
    [InlineData("http://8.8.8.8/")]
    [InlineData("http://[2606:4700:4700::1111]:8443/")]
    [InlineData("https://bücher.example/")]
    [InlineData("https://localhost.example.com/")]
    [InlineData("https://notlocalhost/")]
    [InlineData("https://internal.example.com/")]
    [InlineData("https://example.local.example.com/")]
    public void AcceptsPublicHttpUrls(string url) =>
        Assert.Null(SsrfGuard.CheckUrl(url, allowPrivateNetworks: false));

    [Theory]
    [InlineData(null, "required")]
    [InlineData("", "required")]
    [InlineData(" https://example.com/", "white space")]
    [InlineData("https://example.com/\n", "white space")]
    [InlineData("example.com/hook", "absolute http or https")]
    [InlineData("/hook", "absolute http or https")]
    [InlineData("ftp://example.com/", "absolute http or https")]
    [InlineData("file:///etc/passwd", "absolute http or https")]
    [InlineData("javascript:alert(1)", "absolute http or https")]
    [InlineData("http:///hook", "absolute http or https")]
    [InlineData("https://user:secret@example.com/", "user name or password")]
    [InlineData("https://user@example.com/", "user name or password")]
    [InlineData("https://@example.com/", "user name or password")]
    public void RefusesUrlsThatAreNotPlainHttpOrHttps(string? url, string reason)
    {
        Assert.Contains(reason, SsrfGuard.CheckUrl(url, allowPrivateNetworks: false), StringComparison.Ordinal);
        Assert.Contains(reason, SsrfGuard.CheckUrl(url, allowPrivateNetworks: true), StringComparison.Ordinal);
    }

    [Fact]
    public void RefusesUrlsLongerThan2048Characters()
    {
        var prefix = "https://example.com/";
        var longest = prefix + new string('a', SsrfGuard.MaxUrlLength - prefix.Length);

        Assert.Null(SsrfGuard.CheckUrl(longest, allowPrivateNetworks: false));
        Assert.Contains("2048", SsrfGuard.CheckUrl(longest + "a", allowPrivateNetworks: true), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1/")]
    [InlineData("http://0.0.0.0:8080/")]
    [InlineData("http://10.1.2.3:8080/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://[::1]/")]
    [InlineData("http://[::ffff:127.0.0.1]/")]
    [InlineData("http://[::ffff:7f00:1]/")]
    [InlineData("http://[fe80::1%25eth0]/")]
    [InlineData("http://[fd00::1]/")]
    [InlineData("http://[2002:a9fe:a9fe::]/")]
    public void RefusesLiteralForbiddenAddressesUnlessPrivateNetworksAreAllowed(string url)
    {
        var reason = SsrfGuard.CheckUrl(url, allowPrivateNetworks: false);

        Assert.NotNull(reason);
        Assert.Contains("private", reason, StringComparison.Ordinal);
        Assert.Contains("Tern:Webhooks:AllowPrivateNetworks", reason, StringComparison.Ordinal);
        Assert.Null(SsrfGuard.CheckUrl(url, allowPrivateNetworks: true));
    }

    [Theory]
    [InlineData("http://127.0.0.1.:8080/", "ends with a dot")]
    [InlineData("http://localhost./", "ends with a dot")]
    [InlineData("https://example.com./hook", "ends with a dot")]
    [InlineData("http://127.1/", "dotted decimal")]
    [InlineData("http://2130706433/", "dotted decimal")]
    [InlineData("http://0x7f000001/", "dotted decimal")]
    [InlineData("http://0177.0.0.1/", "dotted decimal")]
    [InlineData("http://0x7f.0.0.1/", "dotted decimal")]
    [InlineData("http://8.8.8.010/", "dotted decimal")]
    [InlineData("http://example.123/", "reads as a number")]
    public void RefusesNonCanonicalHostFormsEvenWhenPrivateNetworksAreAllowed(string url, string reason)
    {
        Assert.Contains(reason, SsrfGuard.CheckUrl(url, allowPrivateNetworks: false), StringComparison.Ordinal);
        Assert.Contains(reason, SsrfGuard.CheckUrl(url, allowPrivateNetworks: true), StringComparison.Ordinal);
    }

    [Fact]
    public void AllowedHostsLetListedPrivateNamesAndRangesThroughAndNothingElse()
    {
        var allowed = AllowedHosts.Parse("n8n, 10.20.0.0/16, 192.168.1.7");

        Assert.Null(SsrfGuard.CheckUrl("http://n8n:5678/webhook/tern", allowPrivateNetworks: false, allowed));
        Assert.Null(SsrfGuard.CheckUrl("http://10.20.3.4/hook", allowPrivateNetworks: false, allowed));
        Assert.Null(SsrfGuard.CheckUrl("http://192.168.1.7/hook", allowPrivateNetworks: false, allowed));
        Assert.Contains(AllowedHosts.ConfigKey, SsrfGuard.CheckUrl("http://10.21.0.1/hook", allowPrivateNetworks: false, allowed), StringComparison.Ordinal);
        Assert.NotNull(SsrfGuard.CheckUrl("http://192.168.1.8/hook", allowPrivateNetworks: false, allowed));
        Assert.NotNull(SsrfGuard.CheckUrl("http://localhost/hook", allowPrivateNetworks: false, allowed));
        Assert.Throws<InvalidOperationException>(() => AllowedHosts.Parse("not a host/99"));
    }

    [Fact]
    public async Task AnAllowedHostNameIsDialledThoughItResolvesToLoopback()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var client = new HttpClient(SsrfGuard.CreateHandler(allowPrivateNetworks: false, ConnectTimeout, AllowedHosts.Parse("localhost")));
        using var refused = new HttpClient(SsrfGuard.CreateHandler(allowPrivateNetworks: false, ConnectTimeout, AllowedHosts.Parse("n8n")));

        var accepted = listener.AcceptSocketAsync();
        var request = client.GetAsync($"http://localhost:{port}/");
        using (var socket = await accepted.WaitAsync(TimeSpan.FromSeconds(30)))
        {
            var head = new byte[4096];
            _ = await socket.ReceiveAsync(head);
            await socket.SendAsync("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
        }

        Assert.Equal(HttpStatusCode.NoContent, (await request).StatusCode);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => refused.GetAsync($"http://localhost:{port}/"));
        Assert.Contains("forbidden", error.Message + error.InnerException?.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://localhost/")]
    [InlineData("http://LOCALHOST:5000/")]
    [InlineData("http://api.localhost/")]
    [InlineData("http://db.internal/")]
    [InlineData("http://metadata.google.internal/computeMetadata/v1/")]
    [InlineData("http://printer.local/")]
    [InlineData("http://nas.home.arpa/")]
    public void RefusesLocalHostNamesUnlessPrivateNetworksAreAllowed(string url)
    {
        var reason = SsrfGuard.CheckUrl(url, allowPrivateNetworks: false);

        Assert.NotNull(reason);
        Assert.Contains("local network", reason, StringComparison.Ordinal);
        Assert.Null(SsrfGuard.CheckUrl(url, allowPrivateNetworks: true));
    }

    [Fact]
    public void HandlerNeitherRedirectsNorKeepsCookiesNorUsesAProxy()
    {
        using var handler = SsrfGuard.CreateHandler(allowPrivateNetworks: false, ConnectTimeout);

        Assert.False(handler.AllowAutoRedirect);
        Assert.False(handler.UseCookies);
        Assert.False(handler.UseProxy);
        Assert.Equal(ConnectTimeout, handler.ConnectTimeout);
        Assert.InRange(handler.PooledConnectionLifetime, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(10));
        Assert.NotNull(handler.ConnectCallback);
    }

    [Theory]
    [InlineData("http://127.0.0.1:{0}/")]
    [InlineData("http://localhost:{0}/")]
    [InlineData("http://[::1]:{0}/")]
    [InlineData("http://[::ffff:127.0.0.1]:{0}/")]
    public async Task RefusesToConnectToALoopbackReceiverAndSendsNothing(string urlFormat)
    {
        await using var receiver = await Receiver.StartAsync();
        using var client = new HttpClient(SsrfGuard.CreateHandler(allowPrivateNetworks: false, ConnectTimeout));

        var error = await Assert.ThrowsAsync<HttpRequestException>(() =>
            client.PostAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, urlFormat, receiver.Port),
                new StringContent("{}"), TestContext.Current.CancellationToken));

        Assert.Contains("forbidden", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, receiver.Requests);
    }

    [Fact]
    public async Task ConnectsToALoopbackReceiverWhenPrivateNetworksAreAllowed()
    {
        await using var receiver = await Receiver.StartAsync();
        using var client = new HttpClient(SsrfGuard.CreateHandler(allowPrivateNetworks: true, ConnectTimeout));

        using var response = await client.PostAsync($"http://127.0.0.1:{receiver.Port}/", new StringContent("{}"),
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("received", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(1, receiver.Requests);
    }

    [Fact]
    public async Task ResolvesLocalhostAndConnectsWhenPrivateNetworksAreAllowed()
    {
        await using var receiver = await Receiver.StartAsync();
        using var client = new HttpClient(SsrfGuard.CreateHandler(allowPrivateNetworks: true, ConnectTimeout));

        using var response = await client.PostAsync($"http://localhost:{receiver.Port}/", new StringContent("{}"),
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, receiver.Requests);
    }

    [Fact]
    public async Task DoesNotFollowARedirect()
    {
        await using var receiver = await Receiver.StartAsync();
        using var client = new HttpClient(SsrfGuard.CreateHandler(allowPrivateNetworks: true, ConnectTimeout));

        using var response = await client.PostAsync($"http://127.0.0.1:{receiver.Port}/redirect", new StringContent("{}"),
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/target", response.Headers.Location?.OriginalString);
        Assert.Equal(1, receiver.Requests);
        Assert.Equal(0, receiver.TargetRequests);
    }

    [Fact]
    public async Task ReadsOnlyTheExcerptOfATenMegabyteBodyFromAReceiver()
    {
        await using var receiver = await Receiver.StartAsync();
        using var client = new HttpClient(SsrfGuard.CreateHandler(allowPrivateNetworks: true, ConnectTimeout));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{receiver.Port}/huge");

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        var (excerpt, truncated) = await SsrfGuard.ReadExcerptAsync(response.Content, 1024, TestContext.Current.CancellationToken);

        Assert.Equal(new string('x', 1024), excerpt);
        Assert.True(truncated);
    }

    [Fact]
    public async Task ReadsNoMoreThanOneBytePastTheLimit()
    {
        var body = new CountingStream(10 * 1024 * 1024);
        using var content = new StreamContent(body);

        var (excerpt, truncated) = await SsrfGuard.ReadExcerptAsync(content, 4096, TestContext.Current.CancellationToken);

        Assert.Equal(4096, excerpt.Length);
        Assert.True(truncated);
        Assert.InRange(body.BytesRead, 4097, 4097);
    }

    [Theory]
    [InlineData("short", 100, "short", false)]
    [InlineData("exact", 5, "exact", false)]
    [InlineData("longer", 5, "longe", true)]
    [InlineData("", 10, "", false)]
    [InlineData("abc", 0, "", true)]
    public async Task ReturnsTheExcerptAndWhetherTheBodyWentOn(string body, int maxBytes, string expected, bool expectedTruncated)
    {
        using var content = new StringContent(body);

        var (excerpt, truncated) = await SsrfGuard.ReadExcerptAsync(content, maxBytes, TestContext.Current.CancellationToken);

        Assert.Equal(expected, excerpt);
        Assert.Equal(expectedTruncated, truncated);
    }

    [Fact]
    public async Task DropsACharacterTheLimitCutsInTwo()
    {
        // "é" is two bytes in UTF-8; a limit of 2 ends inside it.
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes("aéb"));

        var (excerpt, truncated) = await SsrfGuard.ReadExcerptAsync(content, 2, TestContext.Current.CancellationToken);

        Assert.Equal("a", excerpt);
        Assert.True(truncated);
    }

    [Fact]
    public async Task DecodesInvalidUtf8AsReplacementCharacters()
    {
        using var content = new ByteArrayContent([(byte)'o', 0xFF, (byte)'k']);

        var (excerpt, truncated) = await SsrfGuard.ReadExcerptAsync(content, 100, TestContext.Current.CancellationToken);

        Assert.Equal("o\uFFFDk", excerpt);
        Assert.False(truncated);
    }

    /// <summary>A real HTTP server on 127.0.0.1 that counts what reaches it.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _requests;
        private int _targetRequests;

        private Receiver()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            _app = builder.Build();
            _app.Urls.Clear();
            _app.Urls.Add("http://127.0.0.1:0");
            _app.Use(async (context, next) =>
            {
                Interlocked.Increment(ref _requests);
                await next(context);
            });
            _app.MapPost("/", () => "received");
            _app.MapPost("/redirect", () => Results.Redirect("/target"));
            _app.MapMethods("/target", ["GET", "POST"], () =>
            {
                Interlocked.Increment(ref _targetRequests);
                return "followed";
            });
            _app.MapPost("/huge", async context =>
            {
                var chunk = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
                context.Response.ContentLength = 160L * chunk.Length;
                try
                {
                    for (var i = 0; i < 160; i++)
                    {
                        await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or IOException)
                {
                    // The client stopped reading, as it should.
                }
            });
        }

        public int Port { get; private set; }

        public int Requests => Volatile.Read(ref _requests);

        public int TargetRequests => Volatile.Read(ref _targetRequests);

        public static async Task<Receiver> StartAsync()
        {
            var receiver = new Receiver();
            await receiver._app.StartAsync(TestContext.Current.CancellationToken);
            receiver.Port = new Uri(receiver._app.Urls.Single()).Port;
            return receiver;
        }

        public async ValueTask DisposeAsync()
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(stop.Token);
            await _app.DisposeAsync();
        }
    }

    /// <summary>An endless supply of 'x' that counts how much was asked of it.</summary>
    private sealed class CountingStream(long length) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = (int)Math.Min(buffer.Length, length - BytesRead);
            buffer[..count].Fill((byte)'x');
            BytesRead += count;
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
