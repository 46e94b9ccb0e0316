using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Hearth.Engine;
using Hearth.Engine.Sampling;

namespace Hearth.Server.Tests.Doubles;

/// <summary>
/// TEST DOUBLE of <see cref="ILlmEngine"/>: replays a scripted list of text deltas per request (one delta per
/// step, one token id per character) and accounts KV blocks like a paged cache would, so HTTP-layer tests
/// can check admission errors, streaming, cancellation and block release without a model.
/// </summary>
internal sealed class ScriptedEngine : ILlmEngine
{
    public const int BlockSize = 16;
    private readonly Func<EngineRequest, IReadOnlyList<string>> _script;
    private int _numFreeBlocks;

    public ScriptedEngine(Func<EngineRequest, IReadOnlyList<string>> script, int maxModelLen = 4096, int numTotalBlocks = 4096)
    {
        _script = script;
        MaxModelLen = maxModelLen;
        NumTotalBlocks = numTotalBlocks;
        _numFreeBlocks = numTotalBlocks;
    }

    public int MaxModelLen { get; }

    public int NumTotalBlocks { get; }

    public TimeSpan StepDelay { get; set; } = TimeSpan.Zero;

    public bool IsAlive { get; set; } = true;

    /// <summary>Awaited before each step (argument: step index), so a test can hold the engine mid-stream.</summary>
    public Func<int, Task>? BeforeStep { get; set; }

    /// <summary>When set, GenerateAsync refuses every request as a full queue would.</summary>
    public bool Overloaded { get; set; }

    /// <summary>Prompt tokens reported as served from the prefix cache.</summary>
    public int CachedPromptTokens { get; set; }

    public ConcurrentQueue<EngineRequest> Requests { get; } = new();

    public int NumCancelled => _numCancelled;
    private int _numCancelled;

    public async IAsyncEnumerable<EngineOutput> GenerateAsync(EngineRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Overloaded) throw new EngineOverloadedException("the waiting queue is full (test double)");
        if (request.PromptTokenIds.Count + (request.MaxTokens ?? 0) > MaxModelLen)
            throw new RequestRejectedException("prompt plus max_tokens exceed the context (test double)");
        Requests.Enqueue(request);
        var deltas = _script(request);
        var heldBlocks = Blocks(request.PromptTokenIds.Count);
        Interlocked.Add(ref _numFreeBlocks, -heldBlocks);
        var completion = 0;
        try
        {
            for (var i = 0; i < deltas.Count; i++)
            {
                if (BeforeStep is not null) await BeforeStep(i).WaitAsync(cancellationToken);
                if (StepDelay > TimeSpan.Zero) await Task.Delay(StepDelay, cancellationToken);
                else await Task.Yield();
                cancellationToken.ThrowIfCancellationRequested();
                var delta = deltas[i];
                var ids = delta.Select(c => (int)c).ToArray();
                completion += ids.Length;
                var needed = Blocks(request.PromptTokenIds.Count + completion);
                Interlocked.Add(ref _numFreeBlocks, -(needed - heldBlocks));
                heldBlocks = needed;
                var hitMax = request.MaxTokens is { } max && completion >= max;
                var last = i == deltas.Count - 1 || hitMax;
                var logprobs = ids.Select(id => new TokenLogprobs(id, -0.5f,
                    [new TokenLogprob(id, -0.5f), new TokenLogprob('?', -1.5f)])).ToArray();
                yield return new EngineOutput(request.RequestId, ids, delta, logprobs,
                    last ? (hitMax ? "length" : "stop") : null,
                    new EngineUsage(request.PromptTokenIds.Count, completion, CachedPromptTokens));
                if (last) yield break;
            }
        }
        finally
        {
            if (cancellationToken.IsCancellationRequested) Interlocked.Increment(ref _numCancelled);
            Interlocked.Add(ref _numFreeBlocks, heldBlocks);
        }
    }

    public void Abort(string requestId)
    {
    }

    public EngineStats GetStats() => new(IsAlive, 0, 0, Volatile.Read(ref _numFreeBlocks), NumTotalBlocks, 0, 0, 0, 0, 0);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static int Blocks(int tokens) => (tokens + BlockSize - 1) / BlockSize;
}
