using System.Text.Json.Nodes;
using Hearth.Testing;

namespace Hearth.Engine.Tests.Generation;

/// <summary>One conversation of ../shared/fixtures/parrot-qwen3/cases.json.</summary>
public sealed record ParrotCase(string Id, JsonObject Request, string PromptText, int[] PromptIds, string ResponseText, int[] ResponseIds, JsonObject Expected)
{
    private static readonly Lazy<IReadOnlyList<ParrotCase>> Cases = new(Load);

    public static IReadOnlyList<ParrotCase> All => Cases.Value;

    public static ParrotCase Get(string id) => All.Single(c => c.Id == id);

    public static IEnumerable<object[]> Ids() => All.Select(c => new object[] { c.Id });

    private static IReadOnlyList<ParrotCase> Load()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Parrot, "cases.json")))!.AsArray();
        return root.Select(n => n!.AsObject()).Select(o => new ParrotCase(
            (string)o["id"]!,
            o["request"]!.AsObject(),
            (string)o["prompt_text"]!,
            o["prompt_ids"]!.AsArray().Select(x => (int)x!).ToArray(),
            (string)o["response_text"]!,
            o["response_ids"]!.AsArray().Select(x => (int)x!).ToArray(),
            o["expected"]!.AsObject())).ToList();
    }
}
