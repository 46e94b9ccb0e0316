using Hearth.Tokenization.Parsing;

namespace Hearth.Tokenization.Tests.Parsing;

/// <summary>What a streaming client sees, chunk by chunk, from <see cref="ToolCallParser"/>.</summary>
public class ToolCallStreamingTests
{
    private static List<ChatOutputEvent> Push(ToolCallParser parser, string text)
    {
        var events = new List<ChatOutputEvent>();
        parser.Push(text, events);
        return events;
    }

    [Fact]
    public void NameOnceCompleteThenArgumentFragmentsAsTheyArrive()
    {
        var parser = new ToolCallParser();
        Assert.Equal([new ContentDelta("Sure.")], Push(parser, "Sure.\n<tool_"));
        Assert.Empty(Push(parser, "call>\n{\"name\": \"get_"));
        Assert.Empty(Push(parser, "weather\", \"arguments\": {"));
        Assert.Equal([new ToolCallStarted(0, "get_weather"), new ToolCallArgumentsDelta(0, "{\"ci")], Push(parser, "\"ci"));
        Assert.Equal([new ToolCallArgumentsDelta(0, "ty\": \"Paris\"}")], Push(parser, "ty\": \"Paris\"}}\n</tool"));
        Assert.Empty(Push(parser, "_call>\n"));
        Assert.Equal(
            [new ToolCallStarted(1, "f"), new ToolCallArgumentsDelta(1, "{}"), new ContentDelta("Done")],
            Push(parser, "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>\nDone"));
        var end = new List<ChatOutputEvent>();
        parser.Finish(end);
        Assert.Empty(end);
    }

    [Fact]
    public void PlainContentIsNotHeldBackBeyondWhitespaceAndPartialTags()
    {
        var parser = new ToolCallParser();
        Assert.Equal([new ContentDelta("Hello")], Push(parser, "Hello"));
        Assert.Empty(Push(parser, " "));
        Assert.Equal([new ContentDelta(" world")], Push(parser, "world"));
        Assert.Empty(Push(parser, "<"));
        Assert.Equal([new ContentDelta("<b>")], Push(parser, "b>"));
        Assert.Empty(Push(parser, "\n"));
        var end = new List<ChatOutputEvent>();
        parser.Finish(end);
        Assert.Equal([new ContentDelta("\n")], end);
    }

    [Fact]
    public void LongArgumentsStreamWithoutWaitingForTheEnd()
    {
        var parser = new ToolCallParser();
        Assert.Equal(
            [new ToolCallStarted(0, "write"), new ToolCallArgumentsDelta(0, "{\"text\": \"")],
            Push(parser, "<tool_call>\n{\"name\": \"write\", \"arguments\": {\"text\": \""));
        var fragments = new List<string>();
        for (int i = 0; i < 100; i++)
        {
            var events = Push(parser, "word ");
            var delta = Assert.IsType<ToolCallArgumentsDelta>(Assert.Single(events));
            fragments.Add(delta.Fragment);
        }
        Assert.All(fragments, f => Assert.Equal("word ", f));
    }
}
