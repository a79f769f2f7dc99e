using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tern.Contracts;

/// <summary>
/// Reads JSON strings, refusing any that holds U+0000: PostgreSQL cannot store it in text, and no field of the API
/// has a use for it, so every provider refuses it alike, naming the field. Writes strings as usual.
/// </summary>
public sealed class NulFreeStringConverter : JsonConverter<string>
{
    public const string Refusal = "contains U+0000 (NUL), which no field may hold.";

    public override bool HandleNull => false;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException("Expected a string.");
        }

        var value = reader.GetString()!;
        return value.Contains('\0', StringComparison.Ordinal)
            ? throw new JsonException(Refusal)
            : value;
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

    // Dictionary keys (problem `errors`, query conditions) go through these; the same refusal applies to them.
    public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var name = reader.GetString()!;
        return name.Contains('\0', StringComparison.Ordinal) ? throw new JsonException(Refusal) : name;
    }

    public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);
}
