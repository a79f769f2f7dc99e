using System.Diagnostics;

namespace Tern.Bench;

/// <summary>
/// Watches a counter (e.g. <c>ClickWriter.Persisted</c>) from a background thread about every millisecond and
/// records each change with its time: each step of <c>Persisted</c> is one committed batch of the writer.
/// </summary>
public sealed class ProgressPoller : IDisposable
{
    private readonly Func<long> _read;
    private readonly Thread _thread;
    private readonly List<(long At, long Value)> _changes = [];
    private volatile bool _stop;

    public ProgressPoller(Func<long> read)
    {
        _read = read;
        _changes.Add((Stopwatch.GetTimestamp(), read()));
        _thread = new Thread(Run) { IsBackground = true, Name = "progress-poller" };
        _thread.Start();
    }

    /// <summary>(Stopwatch timestamp, value) at start and at every change seen.</summary>
    public IReadOnlyList<(long At, long Value)> Changes
    {
        get
        {
            lock (_changes)
            {
                return [.. _changes];
            }
        }
    }

    /// <summary>The first time the counter was seen at or above <paramref name="value"/>, or null.</summary>
    public long? FirstAtLeast(long value)
    {
        lock (_changes)
        {
            foreach (var (at, seen) in _changes)
            {
                if (seen >= value)
                {
                    return at;
                }
            }
        }

        return null;
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        var last = _read();
        while (!_stop)
        {
            Thread.Sleep(1);
            var value = _read();
            if (value != last)
            {
                lock (_changes)
                {
                    _changes.Add((Stopwatch.GetTimestamp(), value));
                }

                last = value;
            }
        }
    }
}
