using System.Text;
using Hearth.Tokenization.Parsing;

namespace Hearth.Tokenization.Tests.Parsing;

public class ReasoningParserTests
{
    private static (string? Reasoning, string Content) ParseAllWays(ReasoningStartMode mode, string text)
    {
        (string? Reasoning, string Content)? first = null;
        for (int seed = -1; seed < 40; seed++)
        {
            var parser = new ReasoningParser(mode);
            var reasoning = new StringBuilder();
            var content = new StringBuilder();
            foreach (var chunk in ChunkedParse.Chunks(text, seed))
            {
                var d = parser.Push(chunk);
                reasoning.Append(d.Reasoning);
                content.Append(d.Content);
            }
            var end = parser.Finish();
            reasoning.Append(end.Reasoning);
            content.Append(end.Content);
            var result = (parser.SawReasoning ? reasoning.ToString() : null, content.ToString());
            if (!parser.SawReasoning) Assert.Equal(0, reasoning.Length);
            first ??= result;
            Assert.Equal(first.Value, result);
        }
        return first!.Value;
    }

    [Fact]
    public void ModelOpenedThinkSplitsAndTrimsNewlines()
    {
        var (reasoning, content) = ParseAllWays(ReasoningStartMode.ModelOpensThink,
            "<think>\nFirst line.\n\nSecond line.\n</think>\n\nThe answer.\n");
        Assert.Equal("First line.\n\nSecond line.", reasoning);
        Assert.Equal("The answer.\n", content);
    }

    [Fact]
    public void EmptyThinkBlockGivesEmptyReasoningNotNull()
    {
        Assert.Equal(("", "Joyful."), ParseAllWays(ReasoningStartMode.ModelOpensThink, "<think>\n\n</think>\n\nJoyful."));
    }

    [Fact]
    public void NoThinkBlockInModelOpensModeIsAllContent()
    {
        Assert.Equal((null, "Plain answer."), ParseAllWays(ReasoningStartMode.ModelOpensThink, "Plain answer."));
        Assert.Equal((null, "\n  <thin"), ParseAllWays(ReasoningStartMode.ModelOpensThink, "\n  <thin"));
    }

    [Fact]
    public void NotThinkingKeepsTagsAsContent()
    {
        Assert.Equal((null, "<think>\nx\n</think>\ny"), ParseAllWays(ReasoningStartMode.NotThinking, "<think>\nx\n</think>\ny"));
    }

    [Fact]
    public void InsideThinkEndsAtCloseTagOnly()
    {
        Assert.Equal(("Let me see.", "Done."), ParseAllWays(ReasoningStartMode.InsideThink, "\nLet me see.\n</think>\n\nDone."));
    }

    [Fact]
    public void CloseTagWithoutOpenTagStaysContentWhenTheModelWasToOpenIt()
    {
        // Treating text before a stray </think> as reasoning would mean holding back every answer until it ends.
        Assert.Equal((null, "Some text</think>\n\nmore"), ParseAllWays(ReasoningStartMode.ModelOpensThink, "Some text</think>\n\nmore"));
    }

    [Fact]
    public void UnterminatedThinkBlockIsAllReasoning()
    {
        Assert.Equal(("Still thinking about <b>it</b> and </thi", ""),
            ParseAllWays(ReasoningStartMode.ModelOpensThink, "<think>\nStill thinking about <b>it</b> and </thi"));
        Assert.Equal(("Cut off", ""), ParseAllWays(ReasoningStartMode.ModelOpensThink, "<think>\nCut off\n\n"));
    }

    [Fact]
    public void TagsInsideReasoningThatAreNotTheCloseTagStayReasoning()
    {
        Assert.Equal(("a <think> b </thinking> <tool_call>", "c"),
            ParseAllWays(ReasoningStartMode.ModelOpensThink, "<think>a <think> b </thinking> <tool_call></think>c"));
    }

    [Fact]
    public void HoldsBackOnlyPartialTagsAndTrailingNewlines()
    {
        var parser = new ReasoningParser(ReasoningStartMode.ModelOpensThink);
        Assert.Equal(ReasoningDelta.Empty, parser.Push("<thi"));
        Assert.False(parser.SawReasoning);
        Assert.Equal(ReasoningDelta.Empty, parser.Push("nk>\n"));
        Assert.True(parser.SawReasoning);
        Assert.Equal(new ReasoningDelta("Step one.", ""), parser.Push("Step one.\n"));
        Assert.Equal(new ReasoningDelta("\nStep", ""), parser.Push("Step"));
        Assert.Equal(new ReasoningDelta(" two.", ""), parser.Push(" two.\n</th"));
        Assert.Equal(new ReasoningDelta("\n</thx", ""), parser.Push("x"));
        Assert.Equal(ReasoningDelta.Empty, parser.Push("</think>\n"));
        Assert.Equal(new ReasoningDelta("", "A"), parser.Push("\nA"));
        Assert.Equal(new ReasoningDelta("", "\n"), parser.Push("\n"));
        Assert.Equal(ReasoningDelta.Empty, parser.Finish());
    }

    [Fact]
    public void ContentIsNeverHeldBack()
    {
        var parser = new ReasoningParser(ReasoningStartMode.NotThinking);
        Assert.Equal(new ReasoningDelta("", "Hello <thi"), parser.Push("Hello <thi"));
        Assert.Equal(new ReasoningDelta("", "\n\n"), parser.Push("\n\n"));
    }

    [Theory]
    [InlineData("<|im_start|>assistant\n<think>\n\n</think>\n\n", ReasoningStartMode.NotThinking)]
    [InlineData("<|im_start|>assistant\n<think>\n", ReasoningStartMode.InsideThink)]
    [InlineData("<|im_start|>assistant\n", ReasoningStartMode.ModelOpensThink)]
    [InlineData("", ReasoningStartMode.ModelOpensThink)]
    public void StartModeFromPromptTail(string prompt, ReasoningStartMode expected)
    {
        Assert.Equal(expected, ReasoningStartModes.FromPrompt(prompt));
    }
}
