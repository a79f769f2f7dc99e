namespace Tern.Server.Hosting;

/// <summary>How Tern writes a CSV cell (RFC 4180), shared by every CSV export.</summary>
public static class CsvText
{
    /// <summary>
    /// RFC 4180 quoting, and a leading <c>'</c> on a cell a spreadsheet would run as a formula (one starting with
    /// <c>= + - @</c>, tab or carriage return). Tern's CSV import removes that quote again.
    /// </summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    /// <summary>Undoes the formula guard of <see cref="Cell"/> on a value read back.</summary>
    public static string Unguard(string value) =>
        value.Length > 1 && value[0] == '\'' && value[1] is '=' or '+' or '-' or '@' or '\t' or '\r' ? value[1..] : value;
}
