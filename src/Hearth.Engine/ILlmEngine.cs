namespace Hearth.Engine;

/// <summary>
/// The serving engine as the server sees it. One engine thread owns the scheduler and the model; requests
/// go in and outputs come out through channels, so every member here is safe to call from any thread.
/// </summary>
public interface ILlmEngine : IAsyncDisposable
{
    /// <summary>Tokens of prompt plus output one request may hold.</summary>
    int MaxModelLen { get; }

    /// <summary>
    /// Submits a request and streams its outputs as steps produce them, ending with one whose FinishReason is
    /// set. Throws <see cref="RequestRejectedException"/> or <see cref="EngineOverloadedException"/> at once
    /// when it cannot be admitted. Cancelling <paramref name="cancellationToken"/> (the client is gone), or
    /// disposing the enumerator before the last output, aborts the request and frees its KV blocks; a
    /// cancelled stream throws <see cref="OperationCanceledException"/>.
    /// </summary>
    IAsyncEnumerable<EngineOutput> GenerateAsync(EngineRequest request, CancellationToken cancellationToken = default);

    /// <summary>Aborts a request in flight; its stream ends with FinishReason "abort". Unknown ids are ignored.</summary>
    void Abort(string requestId);

    EngineStats GetStats();
}
