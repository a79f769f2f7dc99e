using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace Tern.Server.Links;

/// <summary>
/// Reads <c>application/x-www-form-urlencoded</c> link bodies (the simplest HTTP step of no-code tools) into the same
/// request record as JSON, so the same validation and problems apply. Field names are the JSON names; an object field is
/// given part by part (<c>utm[source]=news</c>), a list of strings comma-separated (<c>tags=a,b</c>); numbers and
/// booleans are read from their text; an empty value is the same as an absent field.
/// </summary>
public static class LinkFormReader
{
    public const string ContentType = "application/x-www-form-urlencoded";

    /// <summary>The request, or the field errors that kept it from being read.</summary>
    public static (T? Request, Dictionary<string, string[]> Errors) Read<T>(IFormCollection form, JsonTypeInfo<T> type, JsonSerializerOptions options)
        where T : class
    {
        var errors = new Dictionary<string, string[]>();
        var json = new JsonObject();
        foreach (var (name, values) in form)
        {
            var value = values.ToString();
            if (value.Length == 0)
            {
                continue;
            }

            var open = name.IndexOf('[', StringComparison.Ordinal);
            var field = open < 0 ? name : name[..open];
            var property = type.Properties.FirstOrDefault(p => p.Name == field);
            if (property is null)
            {
                errors[name] = [$"'{name}' is not a field of this call."];
            }
            else if (open >= 0 && name.EndsWith(']') && name.IndexOf('[', open + 1) < 0)
            {
                var part = name[(open + 1)..^1];
                var inner = options.GetTypeInfo(Unwrapped(property.PropertyType)).Properties.FirstOrDefault(p => p.Name == part);
                if (inner is null)
                {
                    errors[name] = [$"'{part}' is not a part of {field}."];
                }
                else
                {
                    var target = json[field] as JsonObject ?? new JsonObject();
                    target[part] = Value(name, value, inner.PropertyType, errors);
                    json[field] = target;
                }
            }
            else if (open >= 0)
            {
                errors[name] = [$"'{name}' is not a field of this call; give objects part by part, as {field}[part]."];
            }
            else
            {
                json[field] = Value(field, value, property.PropertyType, errors);
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        try
        {
            return (json.Deserialize(type), errors);
        }
        catch (JsonException exception)
        {
            var field = exception.Path?.TrimStart('$', '.') is { Length: > 0 } path ? path : "body";
            errors[field] = [$"{field} has a value this field cannot take."];
            return (null, errors);
        }
    }

    /// <summary>The JSON value of one form value for a property of this type.</summary>
    private static JsonNode? Value(string name, string value, Type type, Dictionary<string, string[]> errors)
    {
        var target = Unwrapped(type);
        if (target == typeof(long) || target == typeof(int))
        {
            if (long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
            {
                return JsonValue.Create(number);
            }

            errors[name] = [$"{name} must be a whole number."];
            return null;
        }

        if (target == typeof(bool))
        {
            if (bool.TryParse(value, out var flag))
            {
                return JsonValue.Create(flag);
            }

            errors[name] = [$"{name} must be true or false."];
            return null;
        }

        if (target != typeof(string) && typeof(IEnumerable<string>).IsAssignableFrom(target))
        {
            return new JsonArray([.. value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(item => (JsonNode?)JsonValue.Create(item))]);
        }

        return JsonValue.Create(value);
    }

    private static Type Unwrapped(Type type) => Nullable.GetUnderlyingType(type) ?? type;
}
