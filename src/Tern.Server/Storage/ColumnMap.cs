using Dapper;

namespace Tern.Server.Storage;

/// <summary>
/// A table's columns in order, each with how a row gives its value: the one place they are spelled, from which come
/// the column list of an insert, a COPY or a select and the values bound for each row.
/// </summary>
public sealed class ColumnMap<T>
{
    private readonly (string Name, Func<T, object?> Value)[] _columns;

    public ColumnMap(params (string Name, Func<T, object?> Value)[] columns)
    {
        _columns = columns;
        List = string.Join(", ", columns.Select(c => c.Name));
    }

    /// <summary>The names, comma-separated, in order.</summary>
    public string List { get; }

    public int Count => _columns.Length;

    /// <summary>The same columns after a first one, SQLite's <c>rowid</c>, for rows given with the rowid they are to take.</summary>
    public ColumnMap<(long RowId, T Row)> WithRowId() =>
        new([("rowid", static r => r.RowId), .. _columns.Select(c => (c.Name, (Func<(long RowId, T Row), object?>)(r => c.Value(r.Row))))]);

    /// <summary>The columns as named parameters, comma-separated, in order: <c>@prefixid, @prefixtype, …</c>.</summary>
    public string Parameters(string prefix) => string.Join(", ", _columns.Select(c => "@" + prefix + c.Name));

    /// <summary>Adds the row's values to <paramref name="parameters"/> under the names <see cref="Parameters(string)"/> gives.</summary>
    public void AddTo(T row, string prefix, DynamicParameters parameters)
    {
        foreach (var (name, value) in _columns)
        {
            parameters.Add(prefix + name, value(row));
        }
    }

    /// <summary>Fills <paramref name="values"/> with the row's values in column order.</summary>
    public void Bind(T row, object?[] values)
    {
        for (var column = 0; column < _columns.Length; column++)
        {
            values[column] = _columns[column].Value(row);
        }
    }
}
