using Hearth.Backends;
using Hearth.Core;
using Hearth.Engine.Runner;
using Hearth.Engine.Sampling;
using Hearth.Models;

namespace Hearth.Engine.Generation;

/// <summary>
/// Generates for one sequence at a time (the `hearth generate` and benchmark path): the prompt is
/// prefilled in chunks of the model's step size, then tokens are decoded one by one. The sequence owns
/// blocks 0..n of a private KV cache, so no scheduler is involved.
/// </summary>
public sealed class Generator : IDisposable
{
    private readonly ModelRunner _runner;
    private readonly PagedKvCache _cache;
    private readonly Sampler _sampler;
    private readonly float[] _logits;
    private readonly int _maxContextTokens;

    public Generator(IBackend backend, ICausalLanguageModel model, int maxContextTokens, int blockSize = 16)
    {
        _maxContextTokens = maxContextTokens;
        int numBlocks = (maxContextTokens + blockSize - 1) / blockSize;
        _cache = new PagedKvCache(backend, model.Config, backend.ActivationDType, blockSize, numBlocks);
        _runner = new ModelRunner(backend, model, _cache, numBlocks);
        for (int i = 0; i < numBlocks; i++) _runner.Inputs.BlockTables[i] = i;
        _sampler = new Sampler(model.VocabSize);
        _logits = new float[model.VocabSize];
    }

    public int MaxContextTokens => _maxContextTokens;

    public GenerationResult Generate(IReadOnlyList<int> promptIds, GenerationOptions options, Action<GeneratedToken>? onToken = null)
    {
        if (promptIds.Count == 0) throw new HearthException("the prompt is empty");
        options.Sampling.Validate();
        if (promptIds.Count >= _maxContextTokens)
            throw new HearthException($"the prompt has {promptIds.Count} tokens; the context holds {_maxContextTokens}");

        var tokens = new List<int>(promptIds);
        var output = new List<int>();
        var generated = new List<GeneratedToken>();
        var rng = SamplerRng.FromOptionalSeed(options.Sampling.Seed);
        var top = new TokenLogprob[Math.Max(1, options.Sampling.TopLogprobs)];
        var prompt = tokens.ToArray();

        ReadOnlySpan<float> logits = Prefill(promptIds);
        while (true)
        {
            logits.CopyTo(_logits);
            var result = _sampler.Sample(_logits, options.Sampling, prompt, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(output), ref rng, top);
            var token = new GeneratedToken(result.TokenId, result.Logprob, top[..result.NumTopLogprobs].ToArray());
            generated.Add(token);
            output.Add(result.TokenId);
            tokens.Add(result.TokenId);
            onToken?.Invoke(token);
            if (options.StopTokenIds.Contains(result.TokenId)) return new GenerationResult(generated, "stop");
            if (output.Count >= options.MaxTokens || tokens.Count >= _maxContextTokens) return new GenerationResult(generated, "length");
            logits = Step(tokens, tokens.Count - 1, 1, lastRowOnly: true);
        }
    }

    /// <summary>
    /// The top-<paramref name="k"/> logprobs of the next token after every prefix of <paramref name="ids"/>:
    /// row i describes the token that would follow ids[0..i].
    /// </summary>
    public TokenLogprob[][] ScorePrompt(IReadOnlyList<int> ids, int k)
    {
        if (ids.Count == 0 || ids.Count > _maxContextTokens) throw new HearthException($"{ids.Count} tokens do not fit a context of {_maxContextTokens}");
        var rows = new TokenLogprob[ids.Count][];
        var top = new TokenLogprob[k];
        var greedy = new SamplingParams { Temperature = 0, TopLogprobs = k };
        var rng = new SamplerRng(0);
        int chunk = Math.Min(_runner.Inputs.MaxTokens, _runner.Inputs.MaxSeqs);
        for (int start = 0; start < ids.Count; start += chunk)
        {
            int count = Math.Min(chunk, ids.Count - start);
            var logits = Step(ids, start, count, lastRowOnly: false);
            for (int r = 0; r < count; r++)
            {
                logits.Slice(r * _logits.Length, _logits.Length).CopyTo(_logits);
                _sampler.Sample(_logits, greedy, [], [], ref rng, top);
                rows[start + r] = top.ToArray();
            }
        }
        return rows;
    }

    private ReadOnlySpan<float> Prefill(IReadOnlyList<int> ids)
    {
        int chunk = _runner.Inputs.MaxTokens;
        ReadOnlySpan<float> logits = default;
        for (int start = 0; start < ids.Count; start += chunk)
            logits = Step(ids, start, Math.Min(chunk, ids.Count - start), lastRowOnly: true);
        return logits;
    }

    // Computes tokens ids[start .. start+count) of the one sequence, whose earlier tokens are already cached.
    private ReadOnlySpan<float> Step(IReadOnlyList<int> ids, int start, int count, bool lastRowOnly)
    {
        var s = _runner.Inputs;
        int blockSize = _cache.BlockSize;
        for (int i = 0; i < count; i++)
        {
            int position = start + i;
            s.TokenIds[i] = ids[position];
            s.Positions[i] = position;
            s.SlotMapping[i] = s.BlockTables[position / blockSize] * blockSize + position % blockSize;
        }
        s.NumTokens = count;
        s.NumSeqs = 1;
        s.QueryStartLocs[0] = 0;
        s.QueryStartLocs[1] = count;
        s.SeqLens[0] = start + count;
        if (lastRowOnly)
        {
            s.LogitRows[0] = count - 1;
            s.NumLogitRows = 1;
        }
        else
        {
            for (int r = 0; r < count; r++) s.LogitRows[r] = r;
            s.NumLogitRows = count;
        }
        return _runner.Run();
    }

    public void Dispose()
    {
        _runner.Dispose();
        _cache.Dispose();
    }
}
