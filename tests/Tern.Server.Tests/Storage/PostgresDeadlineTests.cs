using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Tern.Server.Storage.Postgres;

namespace Tern.Server.Tests.Storage;

/// <summary>The deadlines Tern gives PostgreSQL connections, and how opening behaves against a server that never answers.</summary>
public sealed class PostgresDeadlineTests
{
    [Fact]
    public void AConnectionStringWithoutDeadlinesGetsTernsOnes()
    {
        var settings = new NpgsqlConnectionStringBuilder(PostgresDatabase.WithDeadlines("Host=db;Username=tern", 3));

        Assert.Equal(3, settings.CommandTimeout);
        Assert.Equal(PostgresDatabase.ConnectAttemptSeconds, settings.Timeout);
        Assert.Equal(-1, settings.CancellationTimeout);
        Assert.Equal(GssEncryptionMode.Disable, settings.GssEncryptionMode);
    }

    [Fact]
    public void DeadlinesTheConnectionStringSetsAreKept()
    {
        var settings = new NpgsqlConnectionStringBuilder(PostgresDatabase.WithDeadlines(
            "Host=db;Username=tern;Timeout=15;Command Timeout=30;Cancellation Timeout=500;GSS Encryption Mode=Require", 3));

        Assert.Equal(30, settings.CommandTimeout);
        Assert.Equal(15, settings.Timeout);
        Assert.Equal(500, settings.CancellationTimeout);
        Assert.Equal(GssEncryptionMode.Require, settings.GssEncryptionMode);
    }

    [Fact]
    public async Task OpeningAgainstAServerThatNeverAnswersRetriesWithinTheDeadlineThenFails()
    {
        // Accepts connections and never says a word, as the kernel does for a frozen PostgreSQL.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new ConcurrentQueue<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Enqueue(await silent.AcceptTcpClientAsync());
            }
        });
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var database = new PostgresDatabase(PostgresDatabase.WithDeadlines(
            $"Host=127.0.0.1;Port={port};Username=tern;Pooling=false;SSL Mode=Disable", 3));

        var failure = await Assert.ThrowsAsync<NpgsqlException>(() => database.OpenAsync(TestContext.Current.CancellationToken));

        await database.DataSource.DisposeAsync();
        Assert.IsType<TimeoutException>(failure.InnerException);
        Assert.InRange(accepted.Count, 2, 4);
        silent.Stop();
        foreach (var client in accepted)
        {
            client.Dispose();
        }

        _ = accepting.Exception;
    }
}
