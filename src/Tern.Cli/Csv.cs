namespace Tern.Cli;

/// <summary>CSV plumbing: quoting a cell as RFC 4180 says, and copying a CSV answer to a file or standard output.</summary>
public static class Csv
{
    public static string Cell(string? value) =>
        string.IsNullOrEmpty(value) ? ""
        : value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
        : value;

    public static async Task CopyAsync(Cli cli, Stream csv, string? path, CancellationToken cancellationToken)
    {
        if (path is not null)
        {
            await using var file = File.Create(path);
            await csv.CopyToAsync(file, cancellationToken);
            return;
        }

        using var reader = new StreamReader(csv);
        var buffer = new char[16 * 1024];
        int read;
        while ((read = await reader.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await cli.Context.Out.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }

        await cli.Context.Out.FlushAsync(cancellationToken);
    }
}
