using System.Data.Common;
using System.Text;

namespace Tern.Server.Storage;

/// <summary>
/// A statement of the form <c>head (…),(…),… tail</c> run over many rows, a fixed number per execution: one
/// round trip and one statement for dozens of rows instead of one each. Portable: both engines take
/// multi-row <c>VALUES</c>, and the parameter count stays far under SQLite's 32,766 and PostgreSQL's 65,535.
/// On SQLite, which runs in-process, narrow statements win: its driver binds named parameters one by one, so a
/// single-row prepared statement executed again and again is the fastest for plain inserts.
/// </summary>
public static class MultiRowStatement
{
    /// <summary>Runs the statement over <paramref name="rows"/>; <paramref name="bind"/> fills one row's values in column order.</summary>
    public static Task ExecuteAsync<T>(
        DbConnection connection, DbTransaction transaction, string head, string tail, int columns, int rowsPerStatement,
        IReadOnlyList<T> rows, Action<T, object?[]> bind, CancellationToken cancellationToken) =>
        RunAsync(connection, transaction, head, tail, columns, rowsPerStatement, rows, bind, null, cancellationToken);

    /// <summary>Runs a statement that returns one text column (<c>RETURNING id</c>) and collects what it returns.</summary>
    public static async Task<List<string>> QueryStringsAsync<T>(
        DbConnection connection, DbTransaction transaction, string head, string tail, int columns, int rowsPerStatement,
        IReadOnlyList<T> rows, Action<T, object?[]> bind, CancellationToken cancellationToken)
    {
        var returned = new List<string>(rows.Count);
        await RunAsync(connection, transaction, head, tail, columns, rowsPerStatement, rows, bind, returned, cancellationToken);
        return returned;
    }

    private static async Task RunAsync<T>(
        DbConnection connection, DbTransaction transaction, string head, string tail, int columns, int rowsPerStatement,
        IReadOnlyList<T> rows, Action<T, object?[]> bind, List<string>? returned, CancellationToken cancellationToken)
    {
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

                    if (returned is null)
                    {
                        await command.ExecuteNonQueryAsync(cancellationToken);
                    }
                    else
                    {
                        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                        while (await reader.ReadAsync(cancellationToken))
                        {
                            returned.Add(reader.GetString(0));
                        }
                    }
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
}
