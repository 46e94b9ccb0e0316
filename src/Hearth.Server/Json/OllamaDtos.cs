using System.Text.Json.Nodes;

// Wire shapes of Ollama-compatible responses; names become snake_case through ServerJsonContext.
namespace Hearth.Server.Json;

internal sealed record OllamaErrorDto(string Error);

internal sealed record OllamaMessageDto(string Role, string Content, string? Thinking, OllamaToolCallDto[]? ToolCalls);

internal sealed record OllamaToolCallDto(OllamaFunctionDto Function);

internal sealed record OllamaFunctionDto(string Name, JsonNode? Arguments);

/// <summary>One /api/chat object; the final one (done true) also carries the reason, counts and durations in ns.</summary>
internal sealed record OllamaChatDto(string Model, string CreatedAt, OllamaMessageDto Message, bool Done)
{
    public string? DoneReason { get; init; }
    public long? TotalDuration { get; init; }
    public long? LoadDuration { get; init; }
    public int? PromptEvalCount { get; init; }
    public long? PromptEvalDuration { get; init; }
    public int? EvalCount { get; init; }
    public long? EvalDuration { get; init; }
}

internal sealed record OllamaGenerateDto(string Model, string CreatedAt, string Response, bool Done)
{
    public string? Thinking { get; init; }
    public string? DoneReason { get; init; }
    public int[]? Context { get; init; }
    public long? TotalDuration { get; init; }
    public long? LoadDuration { get; init; }
    public int? PromptEvalCount { get; init; }
    public long? PromptEvalDuration { get; init; }
    public int? EvalCount { get; init; }
    public long? EvalDuration { get; init; }
}

internal sealed record OllamaDetailsDto(string Format, string Family, string[] Families, string ParameterSize, string QuantizationLevel);

internal sealed record OllamaTagDto(string Name, string Model, string ModifiedAt, long Size, string Digest, OllamaDetailsDto Details);

internal sealed record OllamaTagsDto(OllamaTagDto[] Models);

internal sealed record OllamaPsModelDto(string Name, string Model, long Size, string Digest, OllamaDetailsDto Details, string ExpiresAt, long SizeVram, int ContextLength);

internal sealed record OllamaPsDto(OllamaPsModelDto[] Models);

internal sealed record OllamaShowDto(string Modelfile, string Parameters, string Template, OllamaDetailsDto Details, Dictionary<string, JsonNode?> ModelInfo, string[] Capabilities, string ModifiedAt);

internal sealed record OllamaVersionDto(string Version);
