using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tern.Contracts;

/// <summary>
/// Reads <c>true</c>/<c>false</c> also when sent as the strings <c>"true"</c>/<c>"false"</c> (any case), as no-code
/// tools in simple mode send every field; writes plain JSON booleans.
/// </summary>
public sealed class LenientBooleanConverter : JsonConverter<bool>
{
    public override bool Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.String when bool.TryParse(reader.GetString()?.Trim(), out var value) => value,
        _ => throw new JsonException(), // the serializer fills in the path and the expected type
    };

    public override void Write(Utf8JsonWriter writer, bool value, JsonSerializerOptions options) => writer.WriteBooleanValue(value);
}
