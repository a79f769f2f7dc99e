using System.Security.Cryptography;
using Dapper;
using Tern.Server.Storage;

namespace Tern.Server.Clicks;

/// <summary>
/// One random salt per UTC day, shared through storage so that every node hashes a visitor alike; salts older
/// than two days are deleted, after which no hash can be linked to an address again.
/// </summary>
public sealed class VisitorSalts(Database database)
{
    private const long DayMs = 86_400_000;
    private long _day = -1;
    private byte[] _salt = [];

    public async ValueTask<byte[]> ForDayAsync(long timestampMs, CancellationToken cancellationToken)
    {
        var day = timestampMs / DayMs * DayMs;
        if (day == _day)
        {
            return _salt;
        }

        var salt = await database.WriteAsync(async (connection, transaction) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO visitor_salts (day, salt) VALUES (@day, @salt) ON CONFLICT DO NOTHING",
                new { day, salt = RandomNumberGenerator.GetBytes(32) }, transaction, cancellationToken: cancellationToken));
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM visitor_salts WHERE day < @cutoff", new { cutoff = day - (2 * DayMs) }, transaction,
                cancellationToken: cancellationToken));
            return await connection.ExecuteScalarAsync<byte[]>(new CommandDefinition(
                "SELECT salt FROM visitor_salts WHERE day = @day", new { day }, transaction, cancellationToken: cancellationToken));
        }, cancellationToken);
        (_day, _salt) = (day, salt!);
        return _salt;
    }
}
