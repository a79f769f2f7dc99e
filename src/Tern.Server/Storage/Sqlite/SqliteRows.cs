using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Tern.Server.Storage.Sqlite;

/// <summary>
/// One statement run once per row on SQLite's own interface: prepared once for the call, its parameters bound by
/// position. Microsoft.Data.Sqlite binds every parameter of every execution by name, converting the name and each text
/// to UTF-8 on the way (for a click's 20 columns about 3 KB of garbage, and most of an append's time), and a
/// statement of many rows costs it more per parameter the more it has. Here texts are bound as they are held (UTF-16,
/// converted by SQLite without a managed copy) and nothing is allocated per row but the boxes the binder fills. The
/// statement runs in the connection's transaction like any other on it.
/// </summary>
internal static class SqliteRows
{
    /// <summary>
    /// Runs <c>head (?1, …, ?n) tail</c> once for each row, with the values <paramref name="bind"/> gives it in order;
    /// each row a statement returns (<c>RETURNING …</c>) goes to <paramref name="returned"/>, read from the statement.
    /// </summary>
    public static void Execute<T>(
        SqliteConnection connection, string head, string tail, int columns, IReadOnlyCollection<T> rows, Action<T, object?[]> bind,
        Action<ResultRow>? returned)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var handle = connection.Handle!;
        var placeholders = string.Join(", ", Enumerable.Range(1, columns).Select(i => "?" + i));
        Check(handle, raw.sqlite3_prepare_v2(handle, $"{head}({placeholders}){tail}", out var statement));
        using (statement)
        {
            var values = new object?[columns];
            foreach (var row in rows)
            {
                Array.Clear(values);
                bind(row, values);
                for (var i = 0; i < values.Length; i++)
                {
                    Check(handle, Bind(statement, i + 1, values[i]));
                }

                int done;
                while ((done = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
                {
                    returned?.Invoke(new ResultRow(statement));
                }

                if (done != raw.SQLITE_DONE)
                {
                    Check(handle, done); // before the reset, which would keep the code but not the message
                }

                raw.sqlite3_reset(statement);
            }
        }
    }

    private static int Bind(sqlite3_stmt statement, int index, object? value) => value switch
    {
        null => raw.sqlite3_bind_null(statement, index),
        string text => raw.sqlite3_bind_text16(statement, index, text.AsSpan()),
        long number => raw.sqlite3_bind_int64(statement, index, number),
        int number => raw.sqlite3_bind_int64(statement, index, number),
        short number => raw.sqlite3_bind_int64(statement, index, number),
        bool flag => raw.sqlite3_bind_int64(statement, index, flag ? 1 : 0),
        _ => throw new NotSupportedException($"No binding for values of type {value.GetType().Name}."), // as PostgreSQL's COPY
    };

    /// <summary>Throws what Microsoft.Data.Sqlite would for a failed call (a constraint, a full disk), with SQLite's message.</summary>
    private static void Check(sqlite3 handle, int code)
    {
        if (code != raw.SQLITE_OK)
        {
            throw new SqliteException(raw.sqlite3_errmsg(handle).utf8_to_string(), code, raw.sqlite3_extended_errcode(handle));
        }
    }
}
