using System.Text;
using System.Text.Encodings.Web;
using Tern.Contracts;

namespace Tern.Server.Redirect;

/// <summary>The small HTML pages of smart links: the preview card for link-preview bots, the password form, "not live yet".</summary>
public static class SmartPages
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Default;

    /// <summary>
    /// Open Graph and Twitter card tags, every value HTML-encoded; built once when the link is cached. The destination
    /// is left out on purpose: a link behind a password must not show it to whoever asks as a bot.
    /// </summary>
    public static byte[] Preview(LinkPreview preview)
    {
        var title = Encoder.Encode(preview.Title ?? "");
        var page = new StringBuilder("<!doctype html>\n<html><head><meta charset=\"utf-8\">")
            .Append("<title>").Append(title).Append("</title>")
            .Append("<meta property=\"og:title\" content=\"").Append(title).Append("\">")
            .Append("<meta name=\"twitter:title\" content=\"").Append(title).Append("\">")
            .Append("<meta property=\"og:type\" content=\"website\">");
        if (preview.Description is { } description)
        {
            var encoded = Encoder.Encode(description);
            page.Append("<meta name=\"description\" content=\"").Append(encoded).Append("\">")
                .Append("<meta property=\"og:description\" content=\"").Append(encoded).Append("\">")
                .Append("<meta name=\"twitter:description\" content=\"").Append(encoded).Append("\">");
        }

        if (preview.Image is { } image)
        {
            var encoded = Encoder.Encode(image);
            page.Append("<meta property=\"og:image\" content=\"").Append(encoded).Append("\">")
                .Append("<meta name=\"twitter:image\" content=\"").Append(encoded).Append("\">")
                .Append("<meta name=\"twitter:card\" content=\"summary_large_image\">");
        }
        else
        {
            page.Append("<meta name=\"twitter:card\" content=\"summary\">");
        }

        page.Append("</head><body><h1>").Append(title).Append("</h1></body></html>\n");
        return Encoding.UTF8.GetBytes(page.ToString());
    }

    /// <summary>The password form; it posts back to the short URL itself, keeping the visitor's query.</summary>
    public static byte[] PasswordForm(bool wrong) => Encoding.UTF8.GetBytes($"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex"><title>Password required</title>
        <style>body{"{"}font-family:system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0;color:#1f2937{"}"}</style></head>
        <body><main><h2>This link is protected</h2>{(wrong ? "<p role=\"alert\">Wrong password. Try again.</p>" : "<p>Enter the password to continue.</p>")}
        <form method="post"><input type="password" name="password" autocomplete="current-password" required autofocus>
        <button type="submit">Continue</button></form></main></body></html>
        """);
}
