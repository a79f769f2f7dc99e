using System.Data.Common;
using SQLitePCL;

namespace Tern.Server.Storage;

/// <summary>
/// One row a statement returned, read by column position: from a driver's reader, or on SQLite straight from the
/// statement that <see cref="Sqlite.SqliteRows"/> steps, where no reader (and none of its allocations) is made.
/// </summary>
public readonly struct ResultRow
{
    private readonly DbDataReader? _reader;
    private readonly sqlite3_stmt? _statement;

    public ResultRow(DbDataReader reader) => _reader = reader;

    internal ResultRow(sqlite3_stmt statement) => _statement = statement;

    public string GetString(int column) => _reader is not null ? _reader.GetString(column) : raw.sqlite3_column_text(_statement, column).utf8_to_string();

    public long GetInt64(int column) => _reader is not null ? _reader.GetInt64(column) : raw.sqlite3_column_int64(_statement, column);
}
