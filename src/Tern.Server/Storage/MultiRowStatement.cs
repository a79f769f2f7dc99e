using System.Data.Common;
using System.Text;
using Microsoft.Data.Sqlite;
using Npgsql;
using Tern.Server.Storage.Sqlite;

namespace Tern.Server.Storage;

/// <summary>
/// A statement of the form <c>head VALUES (…),(…),… tail</c> run over many rows: an <c>INSERT … VALUES</c>, or a
/// statement that reads the rows as a table, <c>… FROM (VALUES (…),(…)) AS v …</c>, whose columns are then named
/// <c>column1</c>, <c>column2</c>, … on both engines. On SQLite, which runs in-process, one row per execution of a
/// statement prepared once and bound by position (<see cref="Sqlite.SqliteRows"/>), the rows a statement returns read
/// from it by position too (<see cref="ResultRow"/>). On PostgreSQL, where each statement is a round trip to be parsed and
/// planned, all rows go in one statement: each column is sent as one typed array and the rows are rebuilt by
/// <c>unnest</c>, in the order given (which callers use to lock rows in a fixed order).
/// </summary>
public static class MultiRowStatement
{
    /// <summary>Runs the statement over <paramref name="rows"/>; <paramref name="bind"/> fills one row's values in column order.</summary>
    public static Task ExecuteAsync<T>(
        DbConnection connection, DbTransaction transaction, string head, string tail, int columns, int rowsPerStatement,
        IReadOnlyCollection<T> rows, Action<T, object?[]> bind, CancellationToken cancellationToken) =>
        RunAsync(connection, transaction, head, tail, columns, rowsPerStatement, rows, bind, null, cancellationToken);

    /// <summary>Inserts <paramref name="rows"/> into <paramref name="table"/>, the columns and their values given by <paramref name="columns"/>.</summary>
    public static Task InsertAsync<T>(
        DbConnection connection, DbTransaction transaction, string table, ColumnMap<T> columns, int rowsPerStatement, IReadOnlyList<T> rows,
        CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction, $"INSERT INTO {table} ({columns.List}) VALUES ", "", columns.Count, rowsPerStatement, rows, columns.Bind,
            cancellationToken);

    /// <summary>Runs a statement that returns one text column (<c>RETURNING id</c>) and collects what it returns.</summary>
    public static Task<List<string>> QueryStringsAsync<T>(
        DbConnection connection, DbTransaction transaction, string head, string tail, int columns, int rowsPerStatement,
        IReadOnlyList<T> rows, Action<T, object?[]> bind, CancellationToken cancellationToken) =>
        QueryAsync(connection, transaction, head, tail, columns, rowsPerStatement, rows, bind, static row => row.GetString(0), cancellationToken);

    /// <summary>Runs a statement that returns rows (<c>RETURNING …</c>) and collects each as <paramref name="read"/> makes it.</summary>
    public static async Task<List<TResult>> QueryAsync<T, TResult>(
        DbConnection connection, DbTransaction transaction, string head, string tail, int columns, int rowsPerStatement,
        IReadOnlyList<T> rows, Action<T, object?[]> bind, Func<ResultRow, TResult> read, CancellationToken cancellationToken)
    {
        var returned = new List<TResult>(rows.Count);
        await RunAsync(connection, transaction, head, tail, columns, rowsPerStatement, rows, bind, row => returned.Add(read(row)), cancellationToken);
        return returned;
    }

    private static async Task RunAsync<T>(
        DbConnection connection, DbTransaction transaction, string head, string tail, int columns, int rowsPerStatement,
        IReadOnlyCollection<T> collection, Action<T, object?[]> bind, Action<ResultRow>? returned, CancellationToken cancellationToken)
    {
        if (collection.Count == 0)
        {
            return;
        }

        // SQLite only enumerates the rows, so a dictionary or set runs as it is; the others index them.
        if (connection is SqliteConnection sqlite)
        {
            cancellationToken.ThrowIfCancellationRequested();
            SqliteRows.Execute(sqlite, head, tail, columns, collection, bind, returned);
            return;
        }

        var rows = collection as IReadOnlyList<T> ?? [.. collection];
        if (connection is NpgsqlConnection npgsql && (IsInsertValues(head) || IsValuesTable(head)))
        {
            await RunAsArraysAsync(npgsql, (NpgsqlTransaction)transaction, head, tail, columns, rows, bind, returned, cancellationToken);
            return;
        }

        var values = new object?[columns];
        DbCommand? full = null;
        try
        {
            for (var start = 0; start < rows.Count; start += rowsPerStatement)
            {
                var count = Math.Min(rowsPerStatement, rows.Count - start);
                var command = count == rowsPerStatement ? full ??= Build(count) : Build(count);
                try
                {
                    for (var row = 0; row < count; row++)
                    {
                        bind(rows[start + row], values);
                        for (var column = 0; column < columns; column++)
                        {
                            command.Parameters[(row * columns) + column].Value = values[column] ?? DBNull.Value;
                        }
                    }

                    await ExecuteAsync(command, returned, cancellationToken);
                }
                finally
                {
                    if (command != full)
                    {
                        await command.DisposeAsync();
                    }
                }
            }
        }
        finally
        {
            if (full is not null)
            {
                await full.DisposeAsync();
            }
        }

        DbCommand Build(int count)
        {
            var command = connection.CreateCommand();
            command.Transaction = transaction;
            var text = new StringBuilder(head);
            for (var row = 0; row < count; row++)
            {
                text.Append(row == 0 ? "(" : ",(");
                for (var column = 0; column < columns; column++)
                {
                    var parameter = command.CreateParameter();
                    parameter.ParameterName = $"@p{row}_{column}";
                    command.Parameters.Add(parameter);
                    text.Append(column == 0 ? "" : ",").Append(parameter.ParameterName);
                }

                text.Append(')');
            }

            command.CommandText = text.Append(tail).ToString();
            return command;
        }
    }

    /// <summary>
    /// PostgreSQL: <c>head</c> ends in <c>VALUES</c>, which becomes <c>SELECT … FROM unnest(@c0, @c1, …)</c> (its
    /// columns named <c>column1</c>, <c>column2</c>, … as a VALUES list's would be). Each
    /// column's array takes the type of its values (text, bigint, integer, smallint, boolean, double precision); a
    /// column with no value in any row is sent as a bare <c>NULL</c>, which takes the target column's type.
    /// </summary>
    private static async Task RunAsArraysAsync<T>(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string head, string tail, int columns, IReadOnlyList<T> rows,
        Action<T, object?[]> bind, Action<ResultRow>? returned, CancellationToken cancellationToken)
    {
        var trimmed = head.TrimEnd();
        var cells = new object?[columns][];
        for (var column = 0; column < columns; column++)
        {
            cells[column] = new object?[rows.Count];
        }

        var values = new object?[columns];
        for (var row = 0; row < rows.Count; row++)
        {
            Array.Clear(values);
            bind(rows[row], values);
            for (var column = 0; column < columns; column++)
            {
                cells[column][row] = values[column];
            }
        }

        await using var command = new NpgsqlCommand { Connection = connection, Transaction = transaction };
        var select = new StringBuilder();
        var from = new StringBuilder();
        var names = new StringBuilder();
        for (var column = 0; column < columns; column++)
        {
            select.Append(column == 0 ? "" : ", ");
            if (ToArray(cells[column]) is not { } array)
            {
                select.Append("NULL AS column").Append(column + 1);
                continue;
            }

            var name = $"c{column}";
            command.Parameters.Add(new NpgsqlParameter(name, array));
            select.Append(name).Append(" AS column").Append(column + 1);
            from.Append(from.Length == 0 ? "" : ", ").Append('@').Append(name);
            names.Append(names.Length == 0 ? "" : ", ").Append(name);
        }

        command.CommandText = $"{trimmed[..^"VALUES".Length]}SELECT {select} FROM unnest({from}) AS u({names}){tail}";
        await ExecuteAsync(command, returned, cancellationToken);
    }

    /// <summary>Runs the command, handing each row it returns to <paramref name="returned"/> when that is given.</summary>
    private static async Task ExecuteAsync(DbCommand command, Action<ResultRow>? returned, CancellationToken cancellationToken)
    {
        if (returned is null)
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            return;
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            returned(new ResultRow(reader));
        }
    }

    private static bool IsInsertValues(string head)
    {
        var trimmed = head.AsSpan().Trim();
        return trimmed.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase)
            && trimmed.EndsWith("VALUES", StringComparison.OrdinalIgnoreCase)
            && char.IsWhiteSpace(trimmed[^("VALUES".Length + 1)]);
    }

    private static bool IsValuesTable(string head) => head.AsSpan().TrimEnd().EndsWith("(VALUES", StringComparison.OrdinalIgnoreCase);

    /// <summary>A typed array of one column's values, or null when every value is null.</summary>
    private static Array? ToArray(object?[] column) => Array.Find(column, v => v is not null) switch
    {
        null => null,
        string => Array.ConvertAll(column, v => (string?)v),
        long => Values<long>(column),
        int => Values<int>(column),
        short => Values<short>(column),
        bool => Values<bool>(column),
        double => Values<double>(column),
        var other => throw new NotSupportedException($"No PostgreSQL array for values of type {other.GetType().Name}."),
    };

    private static TValue?[] Values<TValue>(object?[] column) where TValue : struct => Array.ConvertAll(column, v => (TValue?)v);
}
