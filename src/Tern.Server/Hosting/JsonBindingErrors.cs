using System.Text.Json;
using System.Text.RegularExpressions;
using Tern.Contracts;

namespace Tern.Server.Hosting;

/// <summary>
/// Says why a JSON body did not bind, in the API's words: the field (as a path such as <c>maxClicks</c> or
/// <c>utm.source</c>) and what it must be. The serializer's own messages name .NET types, which are no part of the
/// contract, so they are never passed on as they are.
/// </summary>
public static partial class JsonBindingErrors
{
    /// <summary>The field the error is about (null for the body as a whole) and a message for it.</summary>
    public static (string? Field, string Message) Describe(JsonException exception)
    {
        var field = FieldOf(exception.Path);
        var message = exception.Message;
        if (ConversionFailure().Match(message) is { Success: true } conversion)
        {
            return (field, $"{field ?? "The body"} must be {Expected(conversion.Groups["type"].Value)}.");
        }

        if (UnmappedProperty().Match(message) is { Success: true } unmapped)
        {
            var name = unmapped.Groups["name"].Value;
            return (field ?? name, $"'{name}' is not a field of this call; check its spelling.");
        }

        // The reader's syntax errors and Tern's own converters speak without type names; drop the position suffix.
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        var text = WithoutTypeNames(cut < 0 ? message : message[..cut]);
        return field is null
            ? (null, "The body is not valid JSON for this call: " + text)
            : (field, $"{field}: {text}");
    }

    /// <summary>True when the body was well-formed JSON but a value broke a rule (a NUL in a string), not a type.</summary>
    public static bool IsValidation(JsonException exception) =>
        exception.Message.StartsWith(NulFreeStringConverter.Refusal, StringComparison.Ordinal);

    /// <summary>A detail for the whole problem: where the body failed (JSON path) and why.</summary>
    public static string Detail(JsonException exception)
    {
        var (field, message) = Describe(exception);
        return field is null ? message : $"The body does not fit this call at {exception.Path}: {message}";
    }

    /// <summary>Any text with .NET type names (<c>System.Int64</c>, <c>Tern.Contracts.X</c>) replaced by plain words.</summary>
    public static string WithoutTypeNames(string text) => TypeName().Replace(ParameterName().Replace(text, "body"), "a value of this call");

    private static string? FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return null;
        }

        var field = QuotedSegment().Replace(path, ".$1");
        return field.TrimStart('$').TrimStart('.');
    }

    private static string Expected(string type) => type switch
    {
        _ when type.Contains("List", StringComparison.Ordinal) || type.Contains("[]", StringComparison.Ordinal)
            || type.Contains("IEnumerable", StringComparison.Ordinal) => "an array",
        _ when type.Contains("Dictionary", StringComparison.Ordinal) => "a JSON object",
        _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ when type.Contains("Int", StringComparison.Ordinal) => "a whole number",
        _ when type.Contains("Double", StringComparison.Ordinal) || type.Contains("Decimal", StringComparison.Ordinal)
            || type.Contains("Single", StringComparison.Ordinal) => "a number",
        _ when type.Contains("DateTime", StringComparison.Ordinal) => "an ISO-8601 instant such as 2026-11-27T10:00:00Z",
        _ when type.Contains("String", StringComparison.Ordinal) => "a string",
        _ => "a JSON object",
    };

    [GeneratedRegex(@"could not be converted to (?<type>.+?)\. Path:", RegexOptions.CultureInvariant)]
    private static partial Regex ConversionFailure();

    [GeneratedRegex(@"The JSON property '(?<name>[^']*)' could not be mapped", RegexOptions.CultureInvariant)]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex(@"\[\s*'([^']*)'\s*\]", RegexOptions.CultureInvariant)]
    private static partial Regex QuotedSegment();

    [GeneratedRegex(@"'?\b(?:System|Tern|Microsoft)\.[\w.`+,\[\]]*'?", RegexOptions.CultureInvariant)]
    private static partial Regex TypeName();

    [GeneratedRegex(@"""\w+ body""", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterName();
}
