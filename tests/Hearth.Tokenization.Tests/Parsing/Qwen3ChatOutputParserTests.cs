using Hearth.Tokenization.Parsing;

namespace Hearth.Tokenization.Tests.Parsing;

public class Qwen3ChatOutputParserTests
{
    [Fact]
    public void ToolCallInsideReasoningStaysReasoning()
    {
        const string thought = "I could write <tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call> but will not.";
        var r = ChunkedParse.RunAllWays("<think>\n" + thought + "\n</think>\n\nNo tool needed.", ReasoningStartMode.ModelOpensThink);
        Assert.Equal(thought, r.ReasoningContent);
        Assert.Equal("No tool needed.", r.Content);
        Assert.Empty(r.ToolCalls);
        Assert.Equal("stop", r.FinishReason);
    }

    [Fact]
    public void ReasoningThenTextThenCall()
    {
        var r = ChunkedParse.RunAllWays(
            "<think>\nNeed the time.\n</think>\n\nChecking.\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"UTC\"}}\n</tool_call>",
            ReasoningStartMode.ModelOpensThink);
        Assert.Equal("Need the time.", r.ReasoningContent);
        Assert.Equal("Checking.", r.Content);
        Assert.Equal([new ParsedToolCall("get_time", "{\"tz\": \"UTC\"}")], r.ToolCalls);
        Assert.Equal("tool_calls", r.FinishReason);
    }

    [Fact]
    public void InsideThinkPromptWithCall()
    {
        var r = ChunkedParse.RunAllWays(
            "Plan: call f.\n</think>\n\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",
            ReasoningStartMode.InsideThink);
        Assert.Equal("Plan: call f.", r.ReasoningContent);
        Assert.Null(r.Content);
        Assert.Single(r.ToolCalls);
    }

    [Fact]
    public void UnterminatedThinkAtLengthLimitIsAllReasoning()
    {
        var r = ChunkedParse.RunAllWays("<think>\nStep 1: <tool_call> maybe\nStep 2:", ReasoningStartMode.ModelOpensThink,
            engineFinishReason: "length");
        Assert.Equal("Step 1: <tool_call> maybe\nStep 2:", r.ReasoningContent);
        Assert.Null(r.Content);
        Assert.Equal("length", r.FinishReason);
    }

    [Fact]
    public void StrayCloseThinkIsContent()
    {
        var r = ChunkedParse.RunAllWays("Answer.</think>\n\nMore.", ReasoningStartMode.ModelOpensThink);
        Assert.Null(r.ReasoningContent);
        Assert.Equal("Answer.</think>\n\nMore.", r.Content);
    }

    [Fact]
    public void LengthFinishIsKeptEvenWithCompleteCalls()
    {
        var r = ChunkedParse.RunAllWays("<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"na",
            ReasoningStartMode.NotThinking, engineFinishReason: "length");
        Assert.Equal([new ParsedToolCall("f", "{}")], r.ToolCalls);
        Assert.Equal("<tool_call>\n{\"na", r.Content);
        Assert.Equal("length", r.FinishReason);
    }

    [Fact]
    public void EmptyOutput()
    {
        var r = ChunkedParse.RunAllWays("", ReasoningStartMode.ModelOpensThink);
        Assert.Null(r.ReasoningContent);
        Assert.Null(r.Content);
        Assert.Empty(r.ToolCalls);
        Assert.Equal("stop", r.FinishReason);
    }

    [Fact]
    public void ResultBeforeFinishAndPushAfterFinishAreRejected()
    {
        var parser = new Qwen3ChatOutputParser(ReasoningStartMode.NotThinking, parseToolCalls: true);
        var events = new List<ChatOutputEvent>();
        parser.Push("Hi", events);
        Assert.Throws<InvalidOperationException>(() => parser.Result("stop"));
        parser.Finish(events);
        Assert.Equal("Hi", parser.Result("stop").Content);
        Assert.Throws<InvalidOperationException>(() => parser.Push("more", events));
    }
}
