using System.Text;
using System.Text.Json.Nodes;

namespace Hearth.Server.Tests.Parrot;

/// <summary>Reassembles an OpenAI chat stream the way a client does: concatenated deltas, tool calls by index.</summary>
internal static class StreamedChat
{
    public static (string? Reasoning, string? Content, List<(string Name, JsonNode? Arguments)> Calls, string FinishReason) Assemble(List<JsonObject> chunks)
    {
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        var sawReasoning = false;
        var names = new SortedDictionary<int, string>();
        var arguments = new SortedDictionary<int, StringBuilder>();
        string? finish = null;
        foreach (var chunk in chunks)
        {
            if (chunk["choices"]!.AsArray().Count == 0) continue;
            var choice = chunk["choices"]![0]!;
            var delta = choice["delta"]!;
            if ((string?)delta["reasoning_content"] is { } r)
            {
                sawReasoning = true;
                reasoning.Append(r);
            }
            content.Append((string?)delta["content"]);
            foreach (var call in delta["tool_calls"]?.AsArray() ?? [])
            {
                var index = (int)call!["index"]!;
                if ((string?)call["function"]!["name"] is { } name)
                {
                    Assert.False(names.ContainsKey(index), "a tool call's name must be sent once");
                    Assert.StartsWith("call_", (string?)call["id"]);
                    Assert.Equal("", (string?)call["function"]!["arguments"]);
                    names[index] = name;
                    arguments[index] = new StringBuilder();
                }
                else
                {
                    arguments[index].Append((string?)call["function"]!["arguments"]);
                }
            }
            finish = (string?)choice["finish_reason"] ?? finish;
        }
        var calls = names.Select(kv => (kv.Value, JsonNode.Parse(arguments[kv.Key].ToString()))).ToList();
        var text = content.ToString();
        return (sawReasoning ? reasoning.ToString() : null, string.IsNullOrWhiteSpace(text) ? null : text, calls, finish ?? "(none)");
    }
}
