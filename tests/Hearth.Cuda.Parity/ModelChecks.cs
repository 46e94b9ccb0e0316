using System.Diagnostics;
using System.Text.Json;
using Hearth.Backends;

namespace Hearth.Cuda.Parity;

/// <summary>
/// Whole-model checks on the parrot model: prefill logits CUDA vs the reference backend for a few prompts
/// (bf16 tolerance, same top token), then greedy generation of every case in cases.json through CUDA,
/// which must reproduce response_ids exactly (the model's top-two logit gap is ≥ 8.9 along every answer).
/// </summary>
internal static class ModelChecks
{
    private const int EndOfTurn = 151645;

    public static void Run(string modelDir, IBackend reference, IBackend cuda, ParityReport report)
    {
        var cases = LoadCases(modelDir);
        int maxTokens = cases.Max(c => c.Prompt.Length + c.Response.Length) + 16;
        using var checkpoint = new Checkpoint(modelDir);
        using var onReference = new Qwen3Runner(modelDir, checkpoint, reference, maxTokens);
        using var onCuda = new Qwen3Runner(modelDir, checkpoint, cuda, maxTokens);

        foreach (var c in cases.Take(4))
        {
            onReference.Reset();
            onCuda.Reset();
            float[] expected = onReference.Forward(c.Prompt);
            float[] actual = onCuda.Forward(c.Prompt);
            int expectedTop = ArgMax(expected), actualTop = ArgMax(actual);
            report.Record(expectedTop == actualTop, $"model prefill top token '{c.Id}'", $"reference {expectedTop}, cuda {actualTop}");
            report.Compare($"model prefill logits '{c.Id}' ({c.Prompt.Length} tokens)", expected, actual, 0.05, 0.03);
            // One decode step on top of the prefill, through the cached prefix.
            float[] expectedNext = onReference.Forward([expectedTop]);
            float[] actualNext = onCuda.Forward([expectedTop]);
            report.Compare($"model decode logits '{c.Id}' (position {c.Prompt.Length})", expectedNext, actualNext, 0.05, 0.03);
        }

        GenerateCases(onCuda, "cuda", cases, report);
    }

    /// <summary>Greedy generation of every case through one backend; also used with the reference alone to check the runner itself.</summary>
    public static void GenerateCases(string modelDir, IBackend backend, ParityReport report, int maxCases)
    {
        var cases = LoadCases(modelDir).Take(maxCases).ToArray();
        using var checkpoint = new Checkpoint(modelDir);
        using var runner = new Qwen3Runner(modelDir, checkpoint, backend, cases.Max(c => c.Prompt.Length + c.Response.Length) + 16);
        GenerateCases(runner, backend.Name, cases, report);
    }

    public static (string Id, int[] Prompt, int[] Response)[] LoadCases(string modelDir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(modelDir, "cases.json"))).RootElement.EnumerateArray()
            .Select(c => (Id: c.GetProperty("id").GetString()!,
                Prompt: c.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                Response: c.GetProperty("response_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray()))
            .ToArray();

    private static void GenerateCases(Qwen3Runner runner, string backendName, (string Id, int[] Prompt, int[] Response)[] cases, ParityReport report)
    {
        var watch = Stopwatch.StartNew();
        int numGenerated = 0;
        foreach (var c in cases)
        {
            runner.Reset();
            var generated = new List<int>();
            float[] logits = runner.Forward(c.Prompt);
            while (generated.Count < c.Response.Length + 8)
            {
                int next = ArgMax(logits);
                generated.Add(next);
                if (next == EndOfTurn) break;
                logits = runner.Forward([next]);
            }
            numGenerated += generated.Count;
            int firstDiff = Enumerable.Range(0, Math.Min(generated.Count, c.Response.Length)).FirstOrDefault(i => generated[i] != c.Response[i], -1);
            bool same = generated.SequenceEqual(c.Response);
            report.Record(same, $"greedy generation '{c.Id}' through {backendName}",
                same ? $"{generated.Count} tokens match response_ids"
                     : $"generated {generated.Count} tokens, expected {c.Response.Length}; first difference at {(firstDiff < 0 ? Math.Min(generated.Count, c.Response.Length) : firstDiff)}");
        }
        Console.WriteLine($"greedy generation on {backendName}: {numGenerated} tokens in {watch.Elapsed.TotalSeconds:F2} s (one sequence at a time, eager, untuned)");
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
