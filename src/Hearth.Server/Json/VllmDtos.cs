// Wire shapes of vLLM's own routes.
namespace Hearth.Server.Json;

internal sealed record VllmGenerateDto(string[] Text);

internal sealed record TokenizeDto(IReadOnlyList<int> Tokens, int Count, int MaxModelLen);

internal sealed record DetokenizeDto(string Prompt);

internal sealed record HealthDto(string Status);
