using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Testing;
using Hearth.Tokenization.Parsing;

namespace Hearth.Tokenization.Tests.Parsing;

/// <summary>Every parrot conversation's generated text, streamed in many chunkings, must parse to what an OpenAI server returns.</summary>
public class FixtureCaseTests
{
    private static readonly Lazy<JsonArray> Cases = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Parrot, "cases.json")))!.AsArray());

    public static TheoryData<int> CaseIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Cases.Value.Count; i++) data.Add(i);
        return data;
    }

    [Fact]
    public void FixtureHasAllTwelveConversations()
    {
        Assert.Equal(12, Cases.Value.Count);
    }

    [Theory]
    [MemberData(nameof(CaseIndices))]
    public void ResponseParsesToExpectedInEveryChunking(int index)
    {
        var c = Cases.Value[index]!;
        string response = c["response_text"]!.GetValue<string>();
        var mode = ReasoningStartModes.FromPrompt(c["prompt_text"]!.GetValue<string>());
        bool hasTools = c["request"]!["tools"] is JsonArray tools && tools.Count > 0;
        var expected = c["expected"]!;

        for (int seed = -1; seed < 60; seed++)
        {
            var (result, _) = ChunkedParse.Run(response, mode, hasTools, seed);
            string because = $"case {index} ({c["id"]}), seed {seed}";

            var expectedReasoning = expected["reasoning_content"]?.GetValue<string>();
            Assert.True(expectedReasoning == result.ReasoningContent,
                $"{because}: reasoning [{result.ReasoningContent}] expected [{expectedReasoning}]");
            var expectedContent = expected["content"]?.GetValue<string>();
            Assert.True(expectedContent == result.Content, $"{because}: content [{result.Content}] expected [{expectedContent}]");
            Assert.Equal(expected["finish_reason"]!.GetValue<string>(), result.FinishReason);

            var expectedCalls = expected["tool_calls"]!.AsArray();
            Assert.Equal(expectedCalls.Count, result.ToolCalls.Count);
            for (int i = 0; i < expectedCalls.Count; i++)
            {
                Assert.Equal(expectedCalls[i]!["name"]!.GetValue<string>(), result.ToolCalls[i].Name);
                var arguments = JsonNode.Parse(result.ToolCalls[i].ArgumentsJson);
                Assert.True(JsonNode.DeepEquals(expectedCalls[i]!["arguments"], arguments),
                    $"{because}: arguments {result.ToolCalls[i].ArgumentsJson} expected {expectedCalls[i]!["arguments"]!.ToJsonString()}");
            }
        }
    }

    [Fact]
    public void StartModesFollowTheRenderedPrompts()
    {
        foreach (var c in Cases.Value)
        {
            var request = c!["request"]!;
            var mode = ReasoningStartModes.FromPrompt(c["prompt_text"]!.GetValue<string>());
            bool thinkingOff = request["enable_thinking"] is JsonValue v && v.GetValueKind() == JsonValueKind.False;
            Assert.Equal(thinkingOff ? ReasoningStartMode.NotThinking : ReasoningStartMode.ModelOpensThink, mode);
        }
    }
}
