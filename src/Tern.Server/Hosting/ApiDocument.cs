using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Tern.Contracts;
using Tern.Server.Links;

namespace Tern.Server.Hosting;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>, shaped so that client generators (Kiota, NSwag, openapi-generator)
/// produce working clients: timestamps typed as strings of format date-time, PATCH fields typed one by one (nullable,
/// absent = unchanged), the required request fields marked, every operation's problem responses described with one
/// problem schema, tags described and ordered, one server URL without a trailing slash, and a license.
/// </summary>
public static class ApiDocument
{
    public const string ProblemSchema = "Problem";

    /// <summary>Tags in the order a reader meets them, each with its description.</summary>
    private static readonly (string Name, string Description)[] Tags =
    [
        ("Links", "Create, read, change and delete short links, one by one or in bulk."),
        ("Analytics", "Clicks and their statistics by link or for the workspace."),
        ("Events", "The event log for polling integrations (after=) and the live event stream."),
        ("Webhooks", "Subscriptions that receive events signed by the Standard Webhooks scheme, and their deliveries."),
        ("Access", "Workspaces and API keys."),
    ];

    /// <summary>Request fields without which a call is refused; the records keep them nullable so that a missing one is a field error, not a binding failure.</summary>
    private static readonly Dictionary<Type, string[]> RequiredFields = new()
    {
        [typeof(CreateLinkRequest)] = ["url"],
        [typeof(CreateWebhookRequest)] = ["url", "events"],
        [typeof(CreateWorkspaceRequest)] = ["name"],
        [typeof(CreateKeyRequest)] = ["name", "scopes"],
        [typeof(BulkCreateRequest)] = ["items"],
        [typeof(MatrixRequest)] = ["template", "dimensions"],
    };

    public static IServiceCollection AddApiDocument(this IServiceCollection services) =>
        services.AddOpenApi("v1", options =>
        {
            // A PATCH field is its value's schema, inline and nullable, not a shared component per wrapper type.
            options.CreateSchemaReferenceId = type => IsOptional(type.Type) ? null : OpenApiOptions.CreateDefaultSchemaReferenceId(type);
            options.AddDocumentTransformer((document, _, _) =>
            {
                Describe(document);
                return Task.CompletedTask;
            });
            options.AddSchemaTransformer(TypeSchemaAsync);
            options.AddOperationTransformer((operation, context, _) =>
            {
                AddProblems(operation, context.Description.HttpMethod ?? "GET", context.Description.RelativePath ?? "");
                if (operation.OperationId == "CreateLink")
                {
                    AddFormBody(operation);
                }
                else if (operation.OperationId == "StreamEvents")
                {
                    DescribeStream(operation);
                }

                return Task.CompletedTask;
            });
        });

    private static void Describe(OpenApiDocument document)
    {
        document.Info.Title = "Tern API";
        document.Info.Description =
            "Short links as infrastructure: create links at send time, follow them, and read what happened. " +
            "Authenticate with Authorization: Bearer tern_…; errors are application/problem+json (RFC 9457).";
        document.Info.License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" };
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["apiKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key: Authorization: Bearer tern_…",
        };
        document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("apiKey", document)] = [] }];
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemSchema] = Problem();
        // Every problem response refers to Tern's own Problem schema (AddProblems); the framework's is left unused.
        document.Components.Schemas.Remove("ProblemDetails");
        if (document.Components.Schemas.ContainsKey("JsonElement"))
        {
            // A stored payload (the event envelope as sent): an object whatever its shape, not "any value".
            document.Components.Schemas["JsonElement"] = new OpenApiSchema { Type = JsonSchemaType.Object, Description = "A JSON document, as sent." };
        }

        var used = document.Tags?.Select(t => t.Name).ToList() ?? [];
        var ordered = new HashSet<OpenApiTag>();
        foreach (var (name, description) in Tags)
        {
            ordered.Add(new OpenApiTag { Name = name, Description = description });
        }

        foreach (var other in used.Where(name => !Tags.Any(t => t.Name == name)))
        {
            ordered.Add(new OpenApiTag { Name = other, Description = $"{other} calls." });
        }

        document.Tags = ordered;
    }

    /// <summary>RFC 9457 problem details as Tern writes them; validation problems add <c>errors</c>.</summary>
    private static OpenApiSchema Problem() => new()
    {
        Type = JsonSchemaType.Object,
        Description = "An error (RFC 9457). type is a URI naming the kind of problem; validation problems add errors by field.",
        Required = new HashSet<string> { "type", "title", "status" },
        Properties = new Dictionary<string, IOpenApiSchema>
        {
            ["type"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The kind of problem; GET it for a description." },
            ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
            ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" },
            ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            ["instance"] = new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
            ["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "For validation problems: the messages for each field, by field name.",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            },
        },
    };

    /// <summary>Timestamps, PATCH fields and required request fields, which the schema generator cannot see from the types alone.</summary>
    private static async Task TypeSchemaAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        schema.Type = Strict(schema.Type);
        if (schema.Type is null && (type == typeof(string) || type == typeof(bool) || type == typeof(bool?)))
        {
            // The NUL-refusing string and lenient boolean converters hide the type from the generator as well.
            var plain = type == typeof(string) ? JsonSchemaType.String : JsonSchemaType.Boolean;
            schema.Type = type == typeof(bool?) || context.JsonPropertyInfo?.IsGetNullable == true ? plain | JsonSchemaType.Null : plain;
        }
        else if (IsTimestamp(type))
        {
            // The UTC converter hides the type from the generator, which keeps only the format.
            schema.Type = Nullable.GetUnderlyingType(type) is null && context.JsonPropertyInfo?.IsGetNullable != true
                ? JsonSchemaType.String
                : JsonSchemaType.String | JsonSchemaType.Null;
            schema.Format = "date-time";
        }
        else if (IsOptional(type))
        {
            var value = type.GetGenericArguments()[0];
            var inner = await context.GetOrCreateSchemaAsync(value, null, cancellationToken);
            MakeNullable(schema, inner, value);
            schema.Description = $"{inner.Description} Absent: unchanged; null: cleared (or back to the default).".TrimStart();
        }

        if (RequiredFields.TryGetValue(type, out var required))
        {
            schema.Required ??= new HashSet<string>();
            foreach (var field in required)
            {
                schema.Required.Add(field);
            }
        }
    }

    /// <summary>
    /// A number's type without the <c>string</c> the generator adds because numbers are also read from JSON strings: that
    /// leniency serves no-code tools, and a typed client should send numbers.
    /// </summary>
    private static JsonSchemaType? Strict(JsonSchemaType? type) =>
        type is { } t && (t & (JsonSchemaType.Integer | JsonSchemaType.Number)) != 0 ? t & ~JsonSchemaType.String : type;

    /// <summary>Makes <paramref name="schema"/> the nullable form of <paramref name="inner"/>, the schema of <paramref name="value"/>.</summary>
    private static void MakeNullable(OpenApiSchema schema, OpenApiSchema inner, Type value)
    {
        if (inner.Type is JsonSchemaType.Object && !value.IsGenericType)
        {
            // The generator turns the object's schema into a reference to its component (UtmParameters, WebhookFilter).
            schema.OneOf = [new OpenApiSchema { Type = JsonSchemaType.Null }, inner];
            return;
        }

        schema.Type = (IsTimestamp(value) ? JsonSchemaType.String : Strict(inner.Type) ?? JsonSchemaType.String) | JsonSchemaType.Null;
        schema.Format = IsTimestamp(value) ? "date-time" : inner.Format;
        schema.Items = inner.Items;
        schema.Enum = inner.Enum;
    }

    /// <summary>The problem responses an operation can give, by what it takes: a key always, a body, an id in the path, a write.</summary>
    private static void AddProblems(OpenApiOperation operation, string method, string path)
    {
        var write = method is "POST" or "PUT" or "PATCH";
        var problems = new List<(int Status, string Description)>
        {
            (400, "A field or query parameter is invalid (errors names each), or the body cannot be read."),
            (401, "The API key is missing, unknown or revoked."),
            (403, "The API key lacks the scope this call needs."),
        };
        if (path.Contains('{', StringComparison.Ordinal))
        {
            problems.Add((404, "Nothing with this id exists in the key's workspace."));
        }

        if (method == "POST" || (write && path.StartsWith("api/v1/links", StringComparison.Ordinal)) || (method == "DELETE" && path.StartsWith("api/v1/keys", StringComparison.Ordinal)))
        {
            problems.Add((409, "A conflict: a slug or externalId in use with another definition, an Idempotency-Key still in progress, or a key that cannot be revoked."));
        }

        if (write && operation.RequestBody is not null)
        {
            problems.Add((413, "The body, or the batch in it, is too large."));
            problems.Add((415, "The body is not of a media type this call takes."));
        }

        if (method == "POST")
        {
            problems.Add((422, "The Idempotency-Key was used before with another request."));
        }

        problems.Add((429, "Too many requests: retry after the seconds in Retry-After."));
        problems.Add((503, "Storage is unavailable: retry after the seconds in Retry-After."));

        operation.Responses ??= new OpenApiResponses();
        foreach (var (status, description) in problems)
        {
            var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses.TryGetValue(key, out var existing) && existing.Content?.Count > 0)
            {
                existing.Content.Clear();
            }

            operation.Responses[key] = new OpenApiResponse
            {
                Description = existing?.Description is { Length: > 0 } given && status is not (400 or 401 or 403) ? given : description,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(ProblemSchema) },
                },
            };
        }
    }

    /// <summary>POST /links also takes a form: the same fields, utm by part (utm[source]) and tags comma-separated.</summary>
    private static void AddFormBody(OpenApiOperation operation)
    {
        if (operation.RequestBody?.Content is not { } content)
        {
            return;
        }

        content[LinkFormReader.ContentType] = new OpenApiMediaType
        {
            Schema = new OpenApiSchemaReference(nameof(CreateLinkRequest)),
            Encoding = new Dictionary<string, OpenApiEncoding>
            {
                ["utm"] = new() { Style = ParameterStyle.DeepObject, Explode = true },
                ["tags"] = new() { Style = ParameterStyle.Form, Explode = false },
            },
        };
    }

    /// <summary>The stream's answer: server-sent events, and the header that resumes it.</summary>
    private static void DescribeStream(OpenApiOperation operation)
    {
        operation.Description =
            "One server-sent event per committed event of the key's workspace, oldest first: id is the event id, event its type, " +
            "data the same JSON as the webhook payload. Reconnect with Last-Event-ID (or after=) to resume without a gap or a " +
            "repeat; without either the stream starts with the next event. A comment line is sent every 15 s of silence.";
        operation.Parameters ??= [];
        operation.Parameters.Add(new OpenApiParameter
        {
            Name = "Last-Event-ID",
            In = ParameterLocation.Header,
            Description = "The id of the last event received; the stream resumes after it.",
            Schema = new OpenApiSchema { Type = JsonSchemaType.String },
        });
        operation.Responses ??= new OpenApiResponses();
        operation.Responses["200"] = new OpenApiResponse
        {
            Description = "The stream of events.",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["text/event-stream"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
            },
        };
    }

    private static bool IsTimestamp(Type type) => (Nullable.GetUnderlyingType(type) ?? type) == typeof(DateTimeOffset);

    private static bool IsOptional(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Optional<>);
}
