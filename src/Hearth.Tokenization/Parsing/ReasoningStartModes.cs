namespace Hearth.Tokenization.Parsing;

/// <summary>Chooses a <see cref="ReasoningStartMode"/> from the rendered prompt.</summary>
public static class ReasoningStartModes
{
    /// <summary>
    /// Qwen3's template with thinking off ends the prompt with <c>&lt;think&gt;\n\n&lt;/think&gt;\n\n</c>; newer
    /// templates with thinking on end it with <c>&lt;think&gt;\n</c>. Trailing whitespace is ignored because the
    /// templates differ only in the newlines they put after the tag.
    /// </summary>
    public static ReasoningStartMode FromPrompt(string promptText)
    {
        ArgumentNullException.ThrowIfNull(promptText);
        var tail = promptText.AsSpan().TrimEnd();
        if (tail.EndsWith("</think>", StringComparison.Ordinal)) return ReasoningStartMode.NotThinking;
        if (tail.EndsWith("<think>", StringComparison.Ordinal)) return ReasoningStartMode.InsideThink;
        return ReasoningStartMode.ModelOpensThink;
    }
}
