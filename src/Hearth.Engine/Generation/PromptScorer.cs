using Hearth.Backends;
using Hearth.Core;
using Hearth.Core.Config;
using Hearth.Engine.Runner;
using Hearth.Engine.Sampling;
using Hearth.Engine.Scheduling;
using Hearth.Models;

namespace Hearth.Engine.Generation;

/// <summary>
/// Scores a prompt: the top-k next-token logprobs after every prefix of it, computed in chunks through the
/// same scheduler, paged cache and runner as generation. Needs a model sized with MaxLogitRows of at
/// least its MaxTokensPerStep, since every row of a chunk is read.
/// </summary>
public sealed class PromptScorer : IDisposable
{
    private readonly ICausalLanguageModel _model;
    private readonly PagedKvCache _cache;
    private readonly ModelRunner _runner;
    private readonly SchedulerConfig _config;
    private readonly Sampler _sampler;
    private readonly int[] _allRows;
    private readonly float[] _logits;

    public PromptScorer(IBackend backend, ICausalLanguageModel model, int maxContextTokens, int blockSize = 16)
    {
        int chunk = Math.Min(model.MaxTokensPerStep, model.MaxLogitRows);
        _model = model;
        _config = new SchedulerConfig
        {
            BlockSize = blockSize,
            NumBlocks = (maxContextTokens + blockSize - 1) / blockSize,
            MaxNumBatchedTokens = chunk,
            MaxNumSeqs = 1,
            MaxModelLen = maxContextTokens,
            EnablePrefixCaching = false,
        };
        _cache = new PagedKvCache(backend, model.Config, backend.ActivationDType, blockSize, _config.NumBlocks);
        _runner = new ModelRunner(backend, model, _cache, 1, _config.MaxBlocksPerSeq);
        _sampler = new Sampler(model.VocabSize);
        _allRows = Enumerable.Range(0, chunk).ToArray();
        _logits = new float[model.VocabSize];
    }

    /// <summary>Row i holds the top-<paramref name="k"/> logprobs of the token that would follow ids[0..i].</summary>
    public TokenLogprob[][] Score(IReadOnlyList<int> ids, int k)
    {
        var rows = new TokenLogprob[ids.Count][];
        var top = new TokenLogprob[k];
        var greedy = new SamplingParams { Temperature = 0, TopLogprobs = k };
        var rng = new SamplerRng(0);
        ForEachLogitRow(ids, (position, logits) =>
        {
            logits.CopyTo(_logits);
            _sampler.Sample(_logits, greedy, [], [], ref rng, top);
            rows[position] = top.ToArray();
        });
        return rows;
    }

    /// <summary>Calls <paramref name="onRow"/> with the raw next-token logits [vocab] after each prefix ids[0..position].</summary>
    public void ForEachLogitRow(IReadOnlyList<int> ids, LogitRowAction onRow)
    {
        if (ids.Count == 0 || ids.Count >= _config.MaxModelLen)
            throw new HearthException($"{ids.Count} tokens do not fit a context of {_config.MaxModelLen}");
        var scheduler = new Scheduler(_config);
        var inputs = new BatchInputs(_config);
        var sequence = new Sequence(0, ids.ToArray(), maxTokens: 1);
        scheduler.Add(sequence);
        int vocab = _model.VocabSize;
        while (!sequence.IsFinished)
        {
            var step = scheduler.Schedule();
            inputs.Fill(step);
            int count = inputs.NumTokens, start = step.Scheduled[0].StartPosition;
            var logits = _runner.Run(inputs, _allRows.AsSpan(0, count));
            for (int r = 0; r < count; r++) onRow(start + r, logits.Slice(r * vocab, vocab));
            // The token fed back is irrelevant: the sequence finishes after one sampled token.
            scheduler.Postprocess(inputs.NumSampled == 1 ? [0] : []);
        }
    }

    public delegate void LogitRowAction(int position, ReadOnlySpan<float> logits);

    public void Dispose()
    {
        _runner.Dispose();
        _cache.Dispose();
    }
}
