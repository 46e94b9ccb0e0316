using Hearth.Server.Errors;

namespace Hearth.Server.Generation;

/// <summary>Refuses prompts the context cannot hold, naming both token counts, before the engine sees them.</summary>
internal static class PromptGuard
{
    public static void Check(int promptTokens, int? maxTokens, int contextTokens)
    {
        if (promptTokens == 0) throw ApiException.BadRequest("the prompt is empty", "prompt");
        if (promptTokens >= contextTokens)
            throw ApiException.BadRequest(
                $"This model's maximum context length is {contextTokens} tokens, but the prompt has {promptTokens} tokens; shorten the messages or prompt.",
                "messages", "context_length_exceeded");
        if (maxTokens is { } max && (long)promptTokens + max > contextTokens)
            throw ApiException.BadRequest(
                $"This model's maximum context length is {contextTokens} tokens, but {promptTokens} prompt tokens plus max_tokens {max} = {(long)promptTokens + max} tokens were requested; lower max_tokens.",
                "max_tokens", "context_length_exceeded");
    }
}
