using Hearth.Engine.Core;
using Hearth.Engine.Loading;

namespace Hearth.Engine.Tests.Generation;

/// <summary>Runs requests to completion on an <see cref="EngineCore"/> driven by the test thread.</summary>
internal static class EngineRun
{
    public sealed record Result(List<int> Tokens, string Text, string FinishReason, List<EngineOutput> Outputs);

    public static Dictionary<string, Result> RunAll(EngineCore core, IEnumerable<EngineRequest> requests)
    {
        var outputs = new Dictionary<string, List<EngineOutput>>();
        foreach (var request in requests)
        {
            var list = outputs[request.RequestId] = [];
            core.Add(request, list.Add);
        }
        int guard = 0;
        while (core.Step())
            if (++guard > 100_000) throw new InvalidOperationException("the engine did not finish");
        return outputs.ToDictionary(kv => kv.Key, kv => new Result(
            kv.Value.SelectMany(o => o.NewTokenIds).ToList(),
            string.Concat(kv.Value.Select(o => o.TextDelta)),
            kv.Value.Last().FinishReason ?? "(unfinished)",
            kv.Value));
    }

    public static Result RunOne(LoadedModel model, Hearth.Backends.IBackend backend, EngineRequest request, EngineOptions? options = null)
    {
        using var core = new EngineCore(model, backend, options ?? new EngineOptions { MaxNumSeqs = 4, MaxNumBatchedTokens = 64 });
        return RunAll(core, [request])[request.RequestId];
    }
}
