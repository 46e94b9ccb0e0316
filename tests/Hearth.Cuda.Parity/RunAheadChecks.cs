using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Engine;
using Hearth.Engine.Core;
using Hearth.Engine.Loading;
using Hearth.Engine.Runner;
using Hearth.Engine.Sampling;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Run-ahead decoding on CUDA: the kernel that advances a decode step's inputs on the GPU against the host's rule
/// (DecodeRunAhead.Advance), then the engine with run-ahead on against off on the parrot: the 12 conversations (each
/// ends on eos, at different steps, so steps run ahead in vain), one cut short by max_tokens, one ended by a stop
/// string and one aborted midway, all at once. Every request must produce the same tokens, text and finish reason,
/// and the steps run ahead must have been used.
/// </summary>
internal static class RunAheadChecks
{
    public static void Run(string modelDir, CudaBackend cuda, ParityReport report)
    {
        var random = new Random(23);
        foreach (var (rows, bucket) in new[] { (1, 1), (3, 4), (5, 8), (32, 32) }) Kernel(cuda, report, random, rows, bucket);
        Engine(modelDir, cuda, report);
    }

    private static void Kernel(CudaBackend cuda, ParityReport report, Random random, int rows, int bucket)
    {
        const int BlockSize = 16, MaxBlocksPerSeq = 9;
        int[] picked = Fill(bucket, () => random.Next(151_936));
        int[] tokens = Fill(bucket, () => random.Next(151_936));
        int[] positions = Fill(bucket, () => random.Next(MaxBlocksPerSeq * BlockSize - 1));
        int[] slots = Fill(bucket, () => random.Next(-1, 5000));
        int[] seqLens = Fill(bucket, () => random.Next(1, 200));
        int[] tables = Fill(bucket * MaxBlocksPerSeq, () => random.Next(1000));
        var buffers = new List<DeviceBuffer>();
        Tensor Up(int[] values)
        {
            var buffer = cuda.Allocate(values.Length * sizeof(int));
            buffers.Add(buffer);
            var tensor = buffer.AsTensor(Hearth.Core.DType.I32, new Shape(values.Length));
            cuda.CopyToDevice<int>(values, tensor);
            return tensor;
        }
        try
        {
            Tensor dPicked = Up(picked), dTokens = Up(tokens), dPositions = Up(positions), dSlots = Up(slots), dLens = Up(seqLens);
            Tensor dTables = Up(tables).Reshape(new Shape(bucket, MaxBlocksPerSeq));
            cuda.AdvanceDecodeInputs(dPicked, dTokens, dPositions, dSlots, dLens, dTables, rows, BlockSize);
            int[] Down(Tensor t)
            {
                var host = new int[bucket];
                cuda.CopyToHost<int>(t, host);
                return host;
            }
            int[] gotTokens = Down(dTokens), gotPositions = Down(dPositions), gotSlots = Down(dSlots), gotLens = Down(dLens);
            int[] wantTokens = (int[])tokens.Clone(), wantPositions = (int[])positions.Clone(), wantSlots = (int[])slots.Clone(), wantLens = (int[])seqLens.Clone();
            picked.AsSpan(0, rows).CopyTo(wantTokens);
            DecodeRunAhead.Advance(positions.AsSpan(0, rows), tables, MaxBlocksPerSeq, BlockSize,
                wantPositions.AsSpan(0, rows), wantLens.AsSpan(0, rows), wantSlots.AsSpan(0, rows));
            bool same = gotTokens.SequenceEqual(wantTokens) && gotPositions.SequenceEqual(wantPositions)
                && gotSlots.SequenceEqual(wantSlots) && gotLens.SequenceEqual(wantLens);
            report.Record(same, $"run-ahead advance_decode_inputs rows={rows} of {bucket}",
                same ? "tokens, positions, slots and lengths as the host rule; padded rows untouched" : "differs from DecodeRunAhead.Advance");
        }
        finally
        {
            foreach (var buffer in buffers) buffer.Dispose();
        }
    }

    private static int[] Fill(int count, Func<int> next)
    {
        var values = new int[count];
        for (int i = 0; i < count; i++) values[i] = next();
        return values;
    }

    private sealed record Result(List<int> Tokens, string Text, string? FinishReason);

    private static void Engine(string modelDir, CudaBackend cuda, ParityReport report)
    {
        var cases = ModelChecks.LoadCases(modelDir);
        using var loaded = ModelLoader.Load(modelDir, cuda, maxTokensPerStep: 512, maxLogitRows: 16);
        var tokenizer = loaded.Tokenizer ?? throw new InvalidOperationException("the parrot has a tokenizer");
        var runs = new Dictionary<bool, (Dictionary<string, Result> Results, long Hits, long Misses)>();
        string? previous = Environment.GetEnvironmentVariable("HEARTH_RUN_AHEAD");
        try
        {
            foreach (bool on in new[] { false, true })
            {
                Environment.SetEnvironmentVariable("HEARTH_RUN_AHEAD", on ? "1" : "0");
                var options = new EngineOptions { MaxNumSeqs = 16, MaxNumBatchedTokens = 512, MaxModelLen = 2048 };
                options = BackendFactory.WithKvCacheBudget(options, cuda, loaded.Config, 0.5);
                using var core = new EngineCore(loaded, cuda, options);
                var results = new Dictionary<string, Result>();
                void Add(string id, int[] prompt, int maxTokens, IReadOnlyList<string>? stops = null)
                {
                    results[id] = new Result([], "", null);
                    core.Add(new EngineRequest
                    {
                        RequestId = id,
                        PromptTokenIds = prompt,
                        Sampling = new SamplingParams { Temperature = 0 },
                        MaxTokens = maxTokens,
                        StopStrings = stops ?? [],
                    }, output =>
                    {
                        var r = results[output.RequestId];
                        r.Tokens.AddRange(output.NewTokenIds);
                        results[output.RequestId] = r with { Text = r.Text + output.TextDelta, FinishReason = output.FinishReason ?? r.FinishReason };
                    });
                }
                foreach (var c in cases) Add(c.Id, c.Prompt, c.Response.Length + 8);
                var longest = cases.MaxBy(c => c.Response.Length);
                Add("length", longest.Prompt, longest.Response.Length / 2);
                string text = tokenizer.Decode(longest.Response, skipSpecialTokens: true);
                Add("stop-string", longest.Prompt, longest.Response.Length + 8, [text.Substring(text.Length / 2, Math.Min(6, text.Length - text.Length / 2))]);
                Add("abort", longest.Prompt, longest.Response.Length + 8);
                int steps = 0;
                while (core.Step())
                    if (++steps == 8) core.Abort("abort");
                runs[on] = (results, core.RunAheadHits, core.RunAheadMisses);
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("HEARTH_RUN_AHEAD", previous);
        }
        var off = runs[false].Results;
        long offUsed = runs[false].Hits + runs[false].Misses;
        var (onResults, hits, misses) = runs[true];
        foreach (var (id, expected) in off)
        {
            var got = onResults[id];
            bool same = got.Tokens.SequenceEqual(expected.Tokens) && got.Text == expected.Text && got.FinishReason == expected.FinishReason;
            report.Record(same, $"run-ahead engine '{id}' = without",
                same ? $"{got.Tokens.Count} tokens, finish {got.FinishReason}" : $"{got.Tokens.Count} tokens ({got.FinishReason}) vs {expected.Tokens.Count} ({expected.FinishReason})");
        }
        foreach (var c in cases)
            report.Record(onResults[c.Id].Tokens.SequenceEqual(c.Response), $"run-ahead engine '{c.Id}' = response_ids", $"{onResults[c.Id].Tokens.Count} tokens");
        report.Record(onResults["length"].FinishReason == "length" && onResults["stop-string"].FinishReason == "stop" && onResults["abort"].FinishReason == "abort",
            "run-ahead engine: the length, stop-string and abort requests ended so",
            $"{onResults["length"].FinishReason}, {onResults["stop-string"].FinishReason}, {onResults["abort"].FinishReason}");
        report.Record(hits > 0 && misses > 0 && offUsed == 0, "run-ahead engine: steps run ahead were used and some wasted (none with it off)",
            $"on: {hits} used, {misses} wasted; off: {offUsed}");
    }
}
