namespace Hearth.Engine;

/// <summary>Token counts of one request so far; cached prompt tokens came from the prefix cache.</summary>
public readonly record struct EngineUsage(int PromptTokens, int CompletionTokens, int CachedPromptTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}
