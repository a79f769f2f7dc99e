using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Tern.Contracts;
using Tern.Server.Tests.Infrastructure;
using static Tern.Server.Tests.Infrastructure.ApiExtensions;

namespace Tern.Server.Tests.EndToEnd;

/// <summary>Online backups of the embedded database: taken while links are being written, restored into a fresh server.</summary>
public sealed class BackupTests(TernFactory tern) : IClassFixture<TernFactory>, IDisposable
{
    private readonly string _restored = Directory.CreateTempSubdirectory("tern-restore-").FullName;

    [Fact]
    public async Task ABackupTakenUnderWriteLoadRestoresIntoAFreshServerWithEverythingCommittedBeforeIt()
    {
        var api = tern.Api();
        var before = await api.CreateLinkAsync(new { url = "https://example.com/before-backup", slug = UniqueSlug("bk") });
        Assert.Equal(HttpStatusCode.Found, (await tern.Visitor().GetAsync("/" + before.Slug)).StatusCode);

        // Writers keep creating links while the backup runs; the ones answered before the call started must be in it.
        using var stop = new CancellationTokenSource();
        var created = new ConcurrentQueue<(LinkResponse Link, DateTimeOffset AnsweredAt)>();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var link = await api.CreateLinkAsync(new { url = $"https://example.com/load/{w}/{i}" });
                created.Enqueue((link, DateTimeOffset.UtcNow));
            }
        })).ToList();
        while (created.Count < 20)
        {
            await Task.Yield();
        }

        var startedAt = DateTimeOffset.UtcNow;
        var response = await api.PostAsync("/api/v1/admin/backup", null);
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var backup = await response.ReadAsync<BackupResponse>();
        Assert.True(File.Exists(backup.Path));
        Assert.Equal(new FileInfo(backup.Path).Length, backup.Bytes);
        Assert.StartsWith(Path.Combine(((SqliteBackend)tern.Storage).DataDir, "backups"), backup.Path, StringComparison.Ordinal);
        var committedBefore = created.Where(c => c.AnsweredAt < startedAt).Select(c => c.Link.Id).Append(before.Id).ToHashSet();

        // The restore drill of docs/operations.md: the backup becomes tern.db of a new data folder.
        File.Copy(backup.Path, Path.Combine(_restored, "tern.db"));
        await using var restored = await TernProcess.StartAsync(_restored, null, $"--Tern:AdminKey={TernFactory.AdminKey}", "--Tern:BaseUrl=http://go.test");
        using var restoredApi = new HttpClient { BaseAddress = new Uri(restored.BaseUrl) };
        restoredApi.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TernFactory.AdminKey);
        var ids = new HashSet<string>();
        for (string? cursor = null; ;)
        {
            var page = await restoredApi.GetFromJsonAsync<ListResponse<LinkResponse>>(
                "/api/v1/links?limit=100" + (cursor is null ? "" : $"&cursor={cursor}"), Json);
            ids.UnionWith(page!.Items.Select(l => l.Id));
            if ((cursor = page.NextCursor) is null)
            {
                break;
            }
        }

        Assert.Superset(committedBefore, ids);
        Assert.DoesNotContain("created a first API key", restored.Output, StringComparison.Ordinal);
        using var visitor = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(restored.BaseUrl) };
        var redirect = await visitor.GetAsync("/" + before.Slug);
        Assert.Equal(HttpStatusCode.Found, redirect.StatusCode);
        Assert.Equal(before.Url, redirect.Headers.Location?.OriginalString);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_restored, recursive: true);
        }
        catch (IOException)
        {
            // Left behind if the server still holds a file.
        }
    }
}

public sealed class PostgresBackupTests(PostgresTernFactory tern) : IClassFixture<PostgresTernFactory>
{
    [Fact]
    public async Task PostgresIsNotBackedUpThroughTheApi()
    {
        var response = await tern.Api().PostAsync("/api/v1/admin/backup", null);

        var problem = await response.AssertProblemAsync(HttpStatusCode.Conflict, "/problems/backup-unsupported");
        Assert.Contains("pg_dump", (string?)problem["detail"], StringComparison.Ordinal);
    }
}
