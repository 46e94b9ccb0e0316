using System.Text;
using Hearth.Tokenization.Parsing;

namespace Hearth.Tokenization.Tests.Parsing;

/// <summary>Feeds text to <see cref="Qwen3ChatOutputParser"/> in chunks and checks the stream against the aggregate.</summary>
internal static class ChunkedParse
{
    /// <summary>Splits <paramref name="text"/> into chunks of random size; seed 0 gives single characters, -1 the whole text.</summary>
    public static List<string> Chunks(string text, int seed)
    {
        if (seed < 0) return [text];
        var rng = new Random(seed);
        int maxChunk = seed == 0 ? 1 : 1 + rng.Next(12);
        var chunks = new List<string>();
        for (int pos = 0; pos < text.Length;)
        {
            int size = Math.Min(text.Length - pos, 1 + rng.Next(maxChunk));
            chunks.Add(text.Substring(pos, size));
            pos += size;
            // Engines sometimes hand over empty deltas (a token that decodes to nothing yet).
            if (rng.Next(10) == 0) chunks.Add(string.Empty);
        }
        return chunks;
    }

    public static (ParsedChatOutput Result, List<ChatOutputEvent> Events) Run(
        string text, ReasoningStartMode mode, bool parseToolCalls, int seed, string engineFinishReason = "stop")
    {
        var parser = new Qwen3ChatOutputParser(mode, parseToolCalls);
        var events = new List<ChatOutputEvent>();
        foreach (var chunk in Chunks(text, seed)) parser.Push(chunk, events);
        parser.Finish(events);
        var result = parser.Result(engineFinishReason);
        AssertStreamMatchesAggregate(events, result);
        return (result, events);
    }

    /// <summary>Parses with many chunkings, asserts they all agree, and returns the common result.</summary>
    public static ParsedChatOutput RunAllWays(string text, ReasoningStartMode mode, bool parseToolCalls = true, string engineFinishReason = "stop")
    {
        var whole = Run(text, mode, parseToolCalls, seed: -1, engineFinishReason).Result;
        for (int seed = 0; seed < 40; seed++)
        {
            var chunked = Run(text, mode, parseToolCalls, seed, engineFinishReason).Result;
            AssertSame(whole, chunked, $"seed {seed}");
        }
        return whole;
    }

    public static void AssertSame(ParsedChatOutput expected, ParsedChatOutput actual, string because)
    {
        Assert.True(expected.ReasoningContent == actual.ReasoningContent, $"reasoning differs ({because}): [{expected.ReasoningContent}] vs [{actual.ReasoningContent}]");
        Assert.True(expected.Content == actual.Content, $"content differs ({because}): [{expected.Content}] vs [{actual.Content}]");
        Assert.True(expected.FinishReason == actual.FinishReason, $"finish reason differs ({because})");
        Assert.Equal(expected.ToolCalls, actual.ToolCalls);
    }

    /// <summary>What a streaming client would assemble from the deltas must equal the aggregate.</summary>
    public static void AssertStreamMatchesAggregate(List<ChatOutputEvent> events, ParsedChatOutput result)
    {
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        var calls = new List<(string Name, StringBuilder Args)>();
        foreach (var e in events)
        {
            switch (e)
            {
                case ReasoningText r:
                    Assert.NotEmpty(r.Text);
                    reasoning.Append(r.Text);
                    break;
                case ContentDelta c:
                    Assert.NotEmpty(c.Text);
                    content.Append(c.Text);
                    break;
                case ToolCallStarted s:
                    Assert.Equal(calls.Count, s.Index);
                    Assert.False(string.IsNullOrWhiteSpace(s.Name));
                    calls.Add((s.Name, new StringBuilder()));
                    break;
                case ToolCallArgumentsDelta a:
                    Assert.NotEmpty(a.Fragment);
                    Assert.Equal(calls.Count - 1, a.Index); // fragments belong to the newest call, after its start
                    calls[a.Index].Args.Append(a.Fragment);
                    break;
                default:
                    Assert.Fail("unknown event " + e);
                    break;
            }
        }
        if (result.ReasoningContent is null) Assert.Equal(0, reasoning.Length);
        else Assert.Equal(result.ReasoningContent, reasoning.ToString());
        if (result.Content is null) Assert.True(string.IsNullOrWhiteSpace(content.ToString()));
        else Assert.Equal(result.Content, content.ToString());
        Assert.Equal(result.ToolCalls.Count, calls.Count);
        for (int i = 0; i < calls.Count; i++)
        {
            Assert.Equal(result.ToolCalls[i].Name, calls[i].Name);
            Assert.Equal(result.ToolCalls[i].ArgumentsJson, calls[i].Args.ToString());
        }
    }
}
