using System.Text.Json;
using Hearth.Testing;

namespace Hearth.Models.Tests.Synthetic;

/// <summary>Top-k token ids with their logprobs (float64 log_softmax of HF's float32 logits), best first.</summary>
internal sealed record TopLogprobs(int[] Ids, double[] Logprobs);

/// <summary>One prompt of a parity golden: teacher-forced top-10 at every position and a 16-step greedy run.</summary>
internal sealed record ParityPrompt(
    string Slot,
    int[] PromptIds,
    TopLogprobs[] PromptTop,          // [prompt positions], top-10 of the next-token distribution after each
    int[] GreedyIds,                  // [16], argmax continuation, no stop on EOS
    TopLogprobs[] GreedyTop,          // [16], top-5 at each greedy step
    double GreedyMinTop2LogitGap);

/// <summary>
/// tests/goldens/parity/{shape}.json, written on the GPU machine by tools/make_parity_goldens.py; layout in
/// docs/random-models.md. Forward-pass tests load it, build the model from SyntheticModels, and compare.
/// </summary>
internal sealed record ParityGolden(string ShapeName, string ConfigJson, JsonElement Root, ParityPrompt[] Prompts)
{
    public static string Directory => Path.Combine(RepoPaths.RepoRoot, "tests", "goldens", "parity");

    public static string PathFor(string shapeName) => Path.Combine(Directory, shapeName + ".json");

    public static bool Exists(string shapeName) => File.Exists(PathFor(shapeName));

    public static ParityGolden Load(string shapeName)
    {
        var root = JsonDocument.Parse(File.ReadAllText(PathFor(shapeName))).RootElement;
        var prompts = root.GetProperty("prompts").EnumerateArray().Select(p => new ParityPrompt(
            p.GetProperty("slot").GetString()!,
            Ints(p.GetProperty("prompt_ids")),
            Tops(p.GetProperty("prompt_top")),
            Ints(p.GetProperty("greedy_ids")),
            Tops(p.GetProperty("greedy_top")),
            p.GetProperty("greedy_min_top2_logit_gap").GetDouble())).ToArray();
        return new ParityGolden(root.GetProperty("shape").GetProperty("name").GetString()!,
            root.GetProperty("config_json").GetString()!, root, prompts);
    }

    private static int[] Ints(JsonElement a) => a.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    private static TopLogprobs[] Tops(JsonElement a) => a.EnumerateArray()
        .Select(t => new TopLogprobs(Ints(t.GetProperty("ids")), t.GetProperty("logprobs").EnumerateArray().Select(v => v.GetDouble()).ToArray()))
        .ToArray();
}
