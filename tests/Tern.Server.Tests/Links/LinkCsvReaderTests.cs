using Tern.Contracts;
using Tern.Server.Hosting;
using Tern.Server.Links;

namespace Tern.Server.Tests.Links;

public sealed class LinkCsvReaderTests
{
    private static List<CreateLinkRequest> ReadRequests(string text)
    {
        var items = LinkCsv.Read(text, out var problem);
        Assert.Null(problem);
        return [.. items.Select(i => i.Request!)];
    }

    [Fact]
    public void ReadsQuotedCommasDoubledQuotesAndLineBreaksInsideQuotes()
    {
        var links = ReadRequests("url,title\r\n\"https://example.com/?a=1,2\",\"He said \"\"hi\"\",\nthen left\"\r\nhttps://example.com/b,plain\r\n");

        Assert.Equal(2, links.Count);
        Assert.Equal("https://example.com/?a=1,2", links[0].Url);
        Assert.Equal("He said \"hi\",\nthen left", links[0].Title);
        Assert.Equal("plain", links[1].Title);
    }

    [Fact]
    public void SkipsAByteOrderMarkAndBlankLines()
    {
        var links = ReadRequests("\uFEFFurl\n\nhttps://example.com/a\n\n");
        Assert.Equal("https://example.com/a", Assert.Single(links).Url);
    }

    [Fact]
    public void MapsEveryColumnToItsField()
    {
        var link = Assert.Single(ReadRequests(
            "url,slug,domain,title,tags,externalId,expiresAt,expiredUrl,maxClicks,redirectType,forwardQuery,utm_source,utm_medium,utm_campaign,utm_term,utm_content\n" +
            "https://example.com/,s1,brand.test,T,a| b |,ext-1,2030-01-02T03:04:05Z,https://example.com/over,10,301,false,src,med,camp,term,cont\n"));

        Assert.Equal("s1", link.Slug);
        Assert.Equal("brand.test", link.Domain);
        Assert.Equal(["a", "b"], link.Tags);
        Assert.Equal("ext-1", link.ExternalId);
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero), link.ExpiresAt);
        Assert.Equal("https://example.com/over", link.ExpiredUrl);
        Assert.Equal(10, link.MaxClicks);
        Assert.Equal(301, link.RedirectType);
        Assert.False(link.ForwardQuery);
        Assert.Equal(new UtmParameters { Source = "src", Medium = "med", Campaign = "camp", Term = "term", Content = "cont" }, link.Utm);
    }

    [Fact]
    public void AnEmptyCellIsAnAbsentField()
    {
        var link = Assert.Single(ReadRequests("url,slug,maxClicks,tags\nhttps://example.com/,,,\n"));
        Assert.Null(link.Slug);
        Assert.Null(link.MaxClicks);
        Assert.Null(link.Tags);
    }

    [Fact]
    public void ACellOfTheWrongKindFailsOnlyItsRow()
    {
        var items = LinkCsv.Read("url,maxClicks,forwardQuery\nhttps://example.com/a,many,yes\nhttps://example.com/b,3,true\n", out var problem);

        Assert.Null(problem);
        var invalid = Assert.IsType<LinkOutcome.Invalid>(items[0].Rejected);
        Assert.Equal(["forwardQuery", "maxClicks"], invalid.Errors.Keys.Order());
        Assert.Equal(3, items[1].Request!.MaxClicks);
    }

    [Theory]
    [InlineData("url,slgu\nhttps://example.com/,x\n", "'slgu'")]
    [InlineData("url,url\nhttps://example.com/,x\n", "more than once")]
    [InlineData("slug\nx\n", "no url column")]
    [InlineData("", "no header")]
    [InlineData("url,title\nhttps://example.com/,a,b\n", "3 cells")]
    [InlineData("url,title\n\"https://example.com/,unterminated\n", "1 cells")]
    public void AFileThatCannotBeReadNamesWhy(string text, string mention)
    {
        LinkCsv.Read(text, out var problem);
        Assert.NotNull(problem);
        Assert.Contains(mention, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadOnlyExportColumnsAreAcceptedAndIgnored()
    {
        var link = Assert.Single(ReadRequests("id,shortUrl,url,clicks,archived,createdAt,updatedAt\nlnk_x,http://go.test/x,https://example.com/,5,true,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n"));
        Assert.Equal("https://example.com/", link.Url);
    }

    [Theory]
    [InlineData("=SUM(A1)", "'=SUM(A1)")]
    [InlineData("+1", "'+1")]
    [InlineData("-1", "'-1")]
    [InlineData("@cmd", "'@cmd")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"x\"", "\"say \"\"x\"\"\"")]
    [InlineData("=a,b", "\"'=a,b\"")]
    [InlineData("plain", "plain")]
    public void CellsAreQuotedAndGuardedAgainstFormulas(string value, string cell) =>
        Assert.Equal(cell, CsvText.Cell(value));

    [Fact]
    public void TheFormulaGuardIsRemovedOnImport()
    {
        var link = Assert.Single(ReadRequests("url,title\nhttps://example.com/," + CsvText.Cell("=HYPERLINK(\"x\")") + "\n"));
        Assert.Equal("=HYPERLINK(\"x\")", link.Title);
    }

    [Fact]
    public void SplitsIntoPartsUnderTheHeaderThatReadAsTheWholeFileDoes()
    {
        const string text = "\uFEFFurl,title\r\nhttps://example.com/1,\"two\nlines, and a comma\"\r\n\r\nhttps://example.com/2,b\nhttps://example.com/3,c\n";

        var parts = LinkCsv.Split(text, rowsPerPart: 2);

        Assert.Equal(["url,title\r\nhttps://example.com/1,\"two\nlines, and a comma\"\r\nhttps://example.com/2,b\r\n", "url,title\r\nhttps://example.com/3,c\r\n"], parts);
        Assert.Equal(ReadRequests(text), parts.SelectMany(ReadRequests));
    }
}
