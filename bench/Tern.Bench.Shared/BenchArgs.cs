using System.Globalization;

namespace Tern.Bench;

/// <summary>
/// A bench program's command line: <c>--name value</c> pairs and the <c>--postgres-only</c> flag, with the options
/// every program takes (<c>--postgres</c>, <c>--postgres-only</c>, <c>--only</c>, <c>--out</c>,
/// <c>--quiet-max-busy</c>, <c>--quiet-wait-seconds</c>). An argument of another shape is refused.
/// </summary>
internal sealed class BenchArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public BenchArgs(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--postgres-only")
            {
                PostgresOnly = true;
            }
            else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
            {
                _values[args[i]] = args[++i];
            }
            else
            {
                throw new ArgumentException($"Unknown argument '{args[i]}'; see the top of Program.cs.");
            }
        }
    }

    public bool PostgresOnly { get; }

    public string? Postgres => _values.GetValueOrDefault("--postgres");

    public string? Out => _values.GetValueOrDefault("--out");

    /// <summary>The scenarios named by <c>--only</c>, or null for all of them.</summary>
    public IReadOnlyList<string>? Only => Has("--only") ? List("--only", "") : null;

    public int QuietMaxBusy => Int("--quiet-max-busy", 20);

    public bool Has(string name) => _values.ContainsKey(name);

    public string Get(string name, string fallback) => _values.GetValueOrDefault(name, fallback);

    public int Int(string name, int fallback) => Has(name) ? int.Parse(_values[name], CultureInfo.InvariantCulture) : fallback;

    public long Long(string name, long fallback) => Has(name) ? long.Parse(_values[name], CultureInfo.InvariantCulture) : fallback;

    public double Double(string name, double fallback) => Has(name) ? double.Parse(_values[name], CultureInfo.InvariantCulture) : fallback;

    public IReadOnlyList<string> List(string name, string fallback) =>
        Get(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IReadOnlyList<int> Ints(string name, string fallback) => [.. List(name, fallback).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
}
