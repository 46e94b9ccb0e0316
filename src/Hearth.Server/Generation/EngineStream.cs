using Hearth.Engine;

namespace Hearth.Server.Generation;

/// <summary>
/// An engine request whose first output has already arrived. Waiting for it before sending response
/// headers lets admission errors (429, 400) become proper HTTP statuses instead of a broken stream.
/// </summary>
internal sealed class EngineStream : IAsyncDisposable
{
    private readonly IAsyncEnumerator<EngineOutput> _outputs;
    private bool _hasCurrent;

    private EngineStream(IAsyncEnumerator<EngineOutput> outputs, bool hasCurrent)
    {
        _outputs = outputs;
        _hasCurrent = hasCurrent;
    }

    public static async Task<EngineStream> StartAsync(ILlmEngine engine, EngineRequest request, CancellationToken cancellationToken)
    {
        var outputs = engine.GenerateAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        try
        {
            var hasFirst = await outputs.MoveNextAsync();
            return new EngineStream(outputs, hasFirst);
        }
        catch
        {
            await outputs.DisposeAsync();
            throw;
        }
    }

    /// <summary>Every output in order, up to the finished one (callers treat a stream without one as aborted).</summary>
    public async IAsyncEnumerable<EngineOutput> ReadAllAsync()
    {
        while (_hasCurrent)
        {
            var output = _outputs.Current;
            yield return output;
            if (output.IsFinished) yield break;
            _hasCurrent = await _outputs.MoveNextAsync();
        }
    }

    public ValueTask DisposeAsync() => _outputs.DisposeAsync();
}
