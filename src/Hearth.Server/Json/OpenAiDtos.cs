using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

// Wire shapes of OpenAI-compatible responses; names become snake_case through ServerJsonContext.
namespace Hearth.Server.Json;

internal sealed record OpenAiErrorEnvelope(OpenAiError Error);

internal sealed record OpenAiError(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);

internal sealed record UsageDto(int PromptTokens, int CompletionTokens, int TotalTokens, PromptTokensDetailsDto PromptTokensDetails);

internal sealed record PromptTokensDetailsDto(int CachedTokens);

internal sealed record ChatCompletionDto(string Id, string Object, long Created, string Model, ChatChoiceDto[] Choices, UsageDto Usage);

internal sealed record ChatChoiceDto(
    int Index,
    ChatMessageDto Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ChatLogprobsDto? Logprobs,
    string FinishReason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonNode? StopReason);

internal sealed record ChatMessageDto(
    string Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Content,
    string? ReasoningContent,
    ToolCallDto[]? ToolCalls);

internal sealed record ToolCallDto(string Id, string Type, FunctionCallDto Function);

internal sealed record FunctionCallDto(string Name, string Arguments);

internal sealed record ChatLogprobsDto(TokenLogprobDto[] Content);

internal sealed record TokenLogprobDto(string Token, float Logprob, int[] Bytes, TopLogprobDto[] TopLogprobs);

internal sealed record TopLogprobDto(string Token, float Logprob, int[] Bytes);

internal sealed record ChatChunkDto(string Id, string Object, long Created, string Model, ChunkChoiceDto[] Choices, UsageDto? Usage);

internal sealed record ChunkChoiceDto(
    int Index,
    ChatDeltaDto Delta,
    ChatLogprobsDto? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

internal sealed record ChatDeltaDto(string? Role, string? Content, string? ReasoningContent, ToolCallDeltaDto[]? ToolCalls);

internal sealed record ToolCallDeltaDto(int Index, string? Id, string? Type, FunctionDeltaDto Function);

internal sealed record FunctionDeltaDto(string? Name, string? Arguments);

internal sealed record CompletionDto(string Id, string Object, long Created, string Model, CompletionChoiceDto[] Choices, UsageDto? Usage);

internal sealed record CompletionChoiceDto(
    int Index,
    string Text,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] LegacyLogprobsDto? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>The legacy completions logprobs: parallel lists; prompt tokens echoed without scores carry nulls.</summary>
internal sealed record LegacyLogprobsDto(
    List<string> Tokens,
    List<float?> TokenLogprobs,
    List<Dictionary<string, float>?> TopLogprobs,
    List<int> TextOffset);

internal sealed record ModelListDto(string Object, ModelCardDto[] Data);

internal sealed record ModelCardDto(string Id, string Object, long Created, string OwnedBy, string Root, int MaxModelLen);
