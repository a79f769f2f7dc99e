using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tern.Contracts;

/// <summary>
/// Writes instants as ISO-8601 UTC with a trailing <c>Z</c> (<c>2026-11-27T10:00:00Z</c>, milliseconds only when
/// present); reads any ISO-8601 instant, taking one without an offset as UTC.
/// </summary>
public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("Expected an ISO-8601 timestamp string such as \"2026-11-27T10:00:00Z\".");
        }

        var text = reader.GetString();
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            throw new JsonException($"'{text}' is not an ISO-8601 timestamp such as \"2026-11-27T10:00:00Z\".");
        }

        return value.ToUniversalTime();
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        var utc = value.UtcDateTime;
        writer.WriteStringValue(utc.Millisecond == 0
            ? utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
    }
}
