namespace Hearth.Tokenization.Parsing;

/// <summary>Where the generated text starts relative to Qwen3's <c>&lt;think&gt;</c> block; chosen from the prompt's tail.</summary>
public enum ReasoningStartMode
{
    /// <summary>The prompt already closed an (empty) think block: everything generated is content.</summary>
    NotThinking,

    /// <summary>The model may open <c>&lt;think&gt;</c> itself as its first output; if it does not, everything is content.</summary>
    ModelOpensThink,

    /// <summary>The prompt already opened <c>&lt;think&gt;</c>: output starts as reasoning and may close it with <c>&lt;/think&gt;</c>.</summary>
    InsideThink,
}
