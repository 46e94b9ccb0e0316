using System.Text.Json.Nodes;
using Hearth.Testing;

namespace Hearth.Server.Tests.Parrot;

/// <summary>The 12 parrot conversations from the shared fixtures, by id.</summary>
internal static class ParrotCases
{
    private static readonly Lazy<Dictionary<string, JsonObject>> All = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Parrot, "cases.json")))!.AsArray()
            .Select(c => c!.AsObject())
            .ToDictionary(c => (string)c["id"]!));

    public static JsonObject Get(string id) => All.Value[id];

    public static string[] AllIds() => All.Value.Keys.ToArray();

    public static TheoryData<string> Ids()
    {
        var data = new TheoryData<string>();
        foreach (var id in All.Value.Keys) data.Add(id);
        return data;
    }

    /// <summary>An OpenAI chat request body for the case, greedy so the parrot repeats its answer.</summary>
    public static JsonObject ChatRequest(JsonObject c, bool stream)
    {
        var request = c["request"]!;
        var body = new JsonObject
        {
            ["model"] = ParrotServer.ModelName,
            ["messages"] = request["messages"]!.DeepClone(),
            ["temperature"] = 0,
            ["max_tokens"] = 512,
            ["stream"] = stream,
        };
        if (request["tools"] is JsonArray tools) body["tools"] = tools.DeepClone();
        if (request["enable_thinking"] is JsonValue thinking) body["chat_template_kwargs"] = new JsonObject { ["enable_thinking"] = thinking.DeepClone() };
        return body;
    }

    /// <summary>The same conversation as an Ollama /api/chat body (tool-call arguments as objects).</summary>
    public static JsonObject OllamaRequest(JsonObject c)
    {
        var request = c["request"]!;
        var messages = (JsonArray)request["messages"]!.DeepClone();
        foreach (var m in messages)
            foreach (var call in m!["tool_calls"]?.AsArray() ?? [])
                if (call!["function"]!["arguments"] is JsonValue s) call["function"]!["arguments"] = JsonNode.Parse((string)s!);
        var body = new JsonObject
        {
            ["model"] = ParrotServer.ModelName,
            ["messages"] = messages,
            ["stream"] = false,
            ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = 512 },
        };
        if (request["tools"] is JsonArray tools) body["tools"] = tools.DeepClone();
        if (request["enable_thinking"] is JsonValue thinking) body["think"] = thinking.DeepClone();
        return body;
    }

    /// <summary>Asserts a parsed answer against the case's expected output ("" and null reasoning are equivalent).</summary>
    public static void AssertMatches(JsonObject c, string? reasoning, string? content, IReadOnlyList<(string Name, JsonNode? Arguments)> toolCalls, string finishReason)
    {
        var expected = c["expected"]!;
        var expectedReasoning = (string?)expected["reasoning_content"];
        Assert.Equal(string.IsNullOrEmpty(expectedReasoning) ? "" : expectedReasoning, reasoning ?? "");
        Assert.Equal((string?)expected["content"], content);
        var expectedCalls = expected["tool_calls"]!.AsArray();
        Assert.Equal(expectedCalls.Count, toolCalls.Count);
        for (var i = 0; i < toolCalls.Count; i++)
        {
            Assert.Equal((string?)expectedCalls[i]!["name"], toolCalls[i].Name);
            Assert.True(JsonNode.DeepEquals(expectedCalls[i]!["arguments"], toolCalls[i].Arguments),
                $"arguments {toolCalls[i].Arguments?.ToJsonString()} != {expectedCalls[i]!["arguments"]!.ToJsonString()}");
        }
        Assert.Equal((string?)expected["finish_reason"], finishReason);
    }
}
