namespace Tern.Server.Tests.Infrastructure;

/// <summary>Files the tests read from the repository.</summary>
public static class TestData
{
    public const string CountryDatabaseFile = "geo-whois-asn-country.mmdb";

    /// <summary>The folder holding Tern.slnx, found from the test assembly's folder.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    public static string CountryDatabasePath => Path.Combine(RepositoryRoot, "tests", ".data", CountryDatabaseFile);

    /// <summary>The country database fetched by tests/fetch-test-data.sh; skips without it, but fails in CI.</summary>
    public static string CountryDatabase()
    {
        if (File.Exists(CountryDatabasePath))
        {
            return CountryDatabasePath;
        }

        var message = $"tests/.data/{CountryDatabaseFile} is missing: run tests/fetch-test-data.sh.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(message + " (CI=true)");
        }

        Assert.Skip(message);
        return "";
    }

    private static string FindRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Tern.slnx")))
        {
            root = root.Parent;
        }

        return root?.FullName ?? throw new InvalidOperationException("Tern.slnx not found above " + AppContext.BaseDirectory);
    }
}
