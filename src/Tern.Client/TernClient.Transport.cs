using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Tern.Contracts;

namespace Tern.Client;

/// <summary>The plumbing every call goes through: bodies, query strings, pages and error answers.</summary>
public sealed partial class TernClient
{
    private const int PageSize = 1000;

    private async Task<TResponse> SendAsync<TRequest, TResponse>(
        HttpMethod method, string path, TRequest? body, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, Api + path);
        if (body is not null)
        {
            // Bytes, not a push stream: a retried attempt sends the same content again.
            request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, requestType));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        using var response = await http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await ReadAsync(response, responseType, cancellationToken);
    }

    private async Task<TResponse> PostAsync<TResponse>(string path, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Api + path);
        using var response = await http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await ReadAsync(response, responseType, cancellationToken);
    }

    private async Task SendAsync(HttpMethod method, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, Api + path);
        using var response = await http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    private async Task<T> GetAsync<T>(string path, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(Api + path, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await ReadAsync(response, type, cancellationToken);
    }

    private async Task<Stream> StreamAsync(string path, IEnumerable<(string, string?)> query, CancellationToken cancellationToken)
    {
        var response = await http.GetAsync(Api + WithQuery(path, query), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        try
        {
            await EnsureSuccessAsync(response, cancellationToken);
            return await response.Content.ReadAsStreamAsync(cancellationToken);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async IAsyncEnumerable<T> PagesAsync<T>(
        string path, IEnumerable<(string, string?)> query, JsonTypeInfo<ListResponse<T>> type,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parameters = query.ToList();
        string? cursor = null;
        do
        {
            var page = await GetAsync(WithQuery(path, [.. parameters, ("limit", PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("cursor", cursor)]),
                type, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }

    private async IAsyncEnumerable<T> AfterAsync<T>(
        string path, string after, IEnumerable<(string, string?)> query, JsonTypeInfo<ListResponse<T>> type, Func<T, string> idOf,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parameters = query.ToList();
        while (true)
        {
            var page = await GetAsync(WithQuery(path, [.. parameters, ("after", after), ("limit", PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture))]),
                type, cancellationToken);
            foreach (var item in page.Items)
            {
                yield return item;
            }

            if (page.Items.Count < PageSize)
            {
                yield break;
            }

            after = idOf(page.Items[^1]);
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await JsonSerializer.DeserializeAsync(body, type, cancellationToken)
            ?? throw new JsonException($"Tern answered {(int)response.StatusCode} with an empty body.");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        TernProblem? problem = null;
        if (response.Content.Headers.ContentType?.MediaType is "application/problem+json" or "application/json")
        {
            try
            {
                problem = JsonSerializer.Deserialize(text, ClientJsonContext.Default.TernProblem);
            }
            catch (JsonException)
            {
            }
        }

        problem ??= new TernProblem
        {
            Status = status,
            Title = response.ReasonPhrase ?? "Error",
            Detail = text.Length > 500 ? text[..500] : text,
        };
        throw new TernApiException(status, problem, response.Headers.RetryAfter?.ToString());
    }

    internal static string WithQuery(string path, IEnumerable<(string Name, string? Value)> query)
    {
        var text = new StringBuilder(path);
        var separator = '?';
        foreach (var (name, value) in query)
        {
            if (value is null)
            {
                continue;
            }

            text.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }

        return text.ToString();
    }

    private static string Escape(string segment) => Uri.EscapeDataString(segment);
}
