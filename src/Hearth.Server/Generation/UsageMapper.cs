using Hearth.Engine;
using Hearth.Server.Json;

namespace Hearth.Server.Generation;

internal static class UsageMapper
{
    public static UsageDto ToDto(EngineUsage usage) =>
        new(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens, new PromptTokensDetailsDto(usage.CachedPromptTokens));
}
