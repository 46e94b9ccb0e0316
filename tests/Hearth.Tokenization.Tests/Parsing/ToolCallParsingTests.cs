using System.Text.Json.Nodes;
using Hearth.Tokenization.Parsing;

namespace Hearth.Tokenization.Tests.Parsing;

/// <summary>Tool-call parsing through <see cref="Qwen3ChatOutputParser"/>, each input checked in many chunkings.</summary>
public class ToolCallParsingTests
{
    private static ParsedChatOutput Parse(string text, string engineFinishReason = "stop") =>
        ChunkedParse.RunAllWays(text, ReasoningStartMode.NotThinking, parseToolCalls: true, engineFinishReason);

    private static string Call(string json) => "<tool_call>\n" + json + "\n</tool_call>";

    [Fact]
    public void TextBeforeACallIsContent()
    {
        var r = Parse("Let me check the weather.\n\n" + Call("""{"name": "get_weather", "arguments": {"city": "Paris"}}"""));
        Assert.Equal("Let me check the weather.", r.Content);
        Assert.Equal([new ParsedToolCall("get_weather", """{"city": "Paris"}""")], r.ToolCalls);
        Assert.Equal("tool_calls", r.FinishReason);
        Assert.Null(r.ReasoningContent);
    }

    [Fact]
    public void ThreeCallsWithWhitespaceBetweenAndAfter()
    {
        var r = Parse(Call("""{"name": "a", "arguments": {}}""") + "\n" +
                      Call("""{"name": "b", "arguments": {"x": 1}}""") + "\n\n \t" +
                      Call("""{"name":"c","arguments":{"y":[1,2]}}""") + "\n");
        Assert.Null(r.Content);
        Assert.Equal(
            [new ParsedToolCall("a", "{}"), new ParsedToolCall("b", """{"x": 1}"""), new ParsedToolCall("c", """{"y":[1,2]}""")],
            r.ToolCalls);
    }

    [Fact]
    public void TextAfterACallIsContentWithoutTheSeparatingWhitespace()
    {
        var r = Parse(Call("""{"name": "f", "arguments": {}}""") + "\n\nI called f.\n");
        Assert.Equal("I called f.\n", r.Content);
        Assert.Single(r.ToolCalls);
    }

    [Fact]
    public void NestedBracesEscapedQuotesAndBracesInsideStrings()
    {
        const string args = """{"code": "if (x) { return \"}\"; }", "nested": {"a": {"b": [{"c": "}}"}, -0.5e+3, true, null]}}, "path": "C:\\dir\\"}""";
        var r = Parse(Call("""{"name": "run", "arguments": """ + args + "}"));
        Assert.Equal([new ParsedToolCall("run", args)], r.ToolCalls);
        var parsed = JsonNode.Parse(r.ToolCalls[0].ArgumentsJson)!;
        Assert.Equal("if (x) { return \"}\"; }", parsed["code"]!.GetValue<string>());
        Assert.Equal("C:\\dir\\", parsed["path"]!.GetValue<string>());
    }

    [Fact]
    public void UnicodeInNameAndArgumentsPassesThrough()
    {
        const string args = """{"city": "São Paulo 東京 🌧️", "escaped": "\u00e9\ud83d\ude00"}""";
        var r = Parse(Call("""{"name": "天气", "arguments": """ + args + "}"));
        Assert.Equal([new ParsedToolCall("天气", args)], r.ToolCalls);
        Assert.Equal("é😀", JsonNode.Parse(r.ToolCalls[0].ArgumentsJson)!["escaped"]!.GetValue<string>());
    }

    [Fact]
    public void EscapedNameIsDecoded()
    {
        var r = Parse(Call("""{"name": "get_\u0077eather", "arguments": {}}"""));
        Assert.Equal("get_weather", r.ToolCalls[0].Name);
    }

    [Fact]
    public void ParametersIsAnAliasForArguments()
    {
        var r = Parse(Call("""{"name": "f", "parameters": {"k": "v"}}"""));
        Assert.Equal([new ParsedToolCall("f", """{"k": "v"}""")], r.ToolCalls);
    }

    [Fact]
    public void ArgumentsGivenAsAStringOfJsonPassTheirContentThrough()
    {
        var r = Parse(Call("""{"name": "f", "arguments": "{\"a\": 1, \"b\": \"x y\"}"}"""));
        Assert.Equal([new ParsedToolCall("f", """{"a": 1, "b": "x y"}""")], r.ToolCalls);
    }

    [Fact]
    public void ArgumentsBeforeNameAreHeldUntilTheNameArrives()
    {
        var r = Parse(Call("""{"arguments": {"a": 1}, "name": "f"}"""));
        Assert.Equal([new ParsedToolCall("f", """{"a": 1}""")], r.ToolCalls);
    }

    [Fact]
    public void MissingArgumentsMeansEmptyObject()
    {
        Assert.Equal([new ParsedToolCall("f", "{}")], Parse(Call("""{"name": "f"}""")).ToolCalls);
    }

    [Fact]
    public void UnknownKeysWithValidValuesAreIgnored()
    {
        var r = Parse(Call("""{"id": 7, "name": "f", "extra": [1, {"z": "}"}], "arguments": {"a": 2}, "type": "function"}"""));
        Assert.Equal([new ParsedToolCall("f", """{"a": 2}""")], r.ToolCalls);
        Assert.Null(r.Content);
    }

    [Theory]
    [InlineData("""{'name': 'f', 'arguments': {}}""")]           // single quotes
    [InlineData("""{"name": "f, "arguments": {}}""")]            // unbalanced quote swallows the key, then a raw newline
    [InlineData("""{"name": 42, "arguments": {}}""")]            // name not a string
    [InlineData("""{"name": ["f"], "arguments": {}}""")]
    [InlineData("""{"name": "", "arguments": {}}""")]
    [InlineData("""{"function": "f", "args": {"a": 1}}""")]      // only unknown keys: no name
    [InlineData("\"name\": \"f\", \"arguments\": {}}")]          // missing opening brace
    [InlineData("""{"name": "f", "name": "g", "arguments": {}}""")]
    [InlineData("""{"name": "f", "arguments": ['a']}""")]
    [InlineData("""{"name": "f", "arguments": "not json"}""")]
    [InlineData("""{"name": "f" "arguments": {}}""")]
    [InlineData("""{"name": "f", "arguments": { 'a': 1}}""")]   // breaks before the call was announced
    [InlineData("not json at all")]
    public void MalformedBlockBecomesContentVerbatim(string body)
    {
        string text = "Before.\n" + Call(body) + "\nAfter.";
        var r = Parse(text);
        Assert.Empty(r.ToolCalls);
        Assert.Equal(text, r.Content);
        Assert.Equal("stop", r.FinishReason);
    }

    [Fact]
    public void MalformedBlockDoesNotHideAFollowingValidCall()
    {
        string bad = Call("""{"name": "f" oops}""");
        var r = Parse(bad + "\n" + Call("""{"name": "g", "arguments": {"ok": true}}"""));
        Assert.Equal(bad, r.Content);
        Assert.Equal([new ParsedToolCall("g", """{"ok": true}""")], r.ToolCalls);
    }

    [Fact]
    public void BlockInterruptedByANewOpenTagBecomesContent()
    {
        var r = Parse("<tool_call>\n{\"name\": \"f\"\n" + Call("""{"name": "g", "arguments": {}}"""));
        Assert.Equal("<tool_call>\n{\"name\": \"f\"\n", r.Content);
        Assert.Equal([new ParsedToolCall("g", "{}")], r.ToolCalls);
    }

    [Fact]
    public void MissingOuterBraceIsAcceptedOnceNameAndArgumentsAreComplete()
    {
        var r = Parse(Call("""{"name": "f", "arguments": {"a": {"b": 1}}"""));
        Assert.Equal([new ParsedToolCall("f", """{"a": {"b": 1}}""")], r.ToolCalls);
        Assert.Null(r.Content);
    }

    [Fact]
    public void ArgumentsBreakingAfterStreamingEndTheCallAndTheRestIsContent()
    {
        // Fragments already went out, so the call stays with what was streamed; the rest is content.
        var r = Parse(Call("""{"name": "f", "arguments": {"a": 1, b: 2}}"""));
        Assert.Equal([new ParsedToolCall("f", """{"a": 1, """)], r.ToolCalls);
        Assert.Equal("b: 2}}\n</tool_call>", r.Content);

        r = Parse("Before.\n" + Call("""{"name": "f", "arguments": {} "x": 1}""") + "\nAfter.");
        Assert.Equal([new ParsedToolCall("f", "{}")], r.ToolCalls);
        Assert.Equal("Before.\"x\": 1}\n</tool_call>\nAfter.", r.Content);
    }

    [Fact]
    public void UnclosedBlockWithCompleteJsonIsAccepted()
    {
        var r = Parse("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_");
        Assert.Equal([new ParsedToolCall("f", """{"a": 1}""")], r.ToolCalls);
        Assert.Null(r.Content);
        Assert.Equal("tool_calls", r.FinishReason);
    }

    [Fact]
    public void UnclosedBlockWithIncompleteJsonIsContent()
    {
        const string text = "<tool_call>\n{\"name\": \"f\", \"argum";
        var r = Parse(text);
        Assert.Empty(r.ToolCalls);
        Assert.Equal(text, r.Content);
    }

    [Fact]
    public void LengthCutInsideStreamedArgumentsKeepsTheTruncatedCall()
    {
        var r = Parse("<tool_call>\n{\"name\": \"write\", \"arguments\": {\"text\": \"a long", engineFinishReason: "length");
        Assert.Equal([new ParsedToolCall("write", """{"text": "a long""")], r.ToolCalls);
        Assert.Equal("length", r.FinishReason);
    }

    [Fact]
    public void PartialOpenTagAtEndIsContent()
    {
        Assert.Equal("Answer <tool_ca", Parse("Answer <tool_ca").Content);
        Assert.Equal("a <tool_cal> b <b>", Parse("a <tool_cal> b <b>").Content);
    }

    [Fact]
    public void WithoutToolsTheTagsAreContent()
    {
        string text = Call("""{"name": "f", "arguments": {}}""");
        var r = ChunkedParse.RunAllWays(text, ReasoningStartMode.NotThinking, parseToolCalls: false);
        Assert.Equal(text, r.Content);
        Assert.Empty(r.ToolCalls);
        Assert.Equal("stop", r.FinishReason);
    }
}
