using System.Text.Json.Serialization;

namespace Hearth.Server.Json;

/// <summary>Source-generated serializers for every response body: trim-safe, no reflection.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(OpenAiErrorEnvelope))]
[JsonSerializable(typeof(ChatCompletionDto))]
[JsonSerializable(typeof(ChatChunkDto))]
[JsonSerializable(typeof(CompletionDto))]
[JsonSerializable(typeof(ModelListDto))]
[JsonSerializable(typeof(OllamaErrorDto))]
[JsonSerializable(typeof(OllamaChatDto))]
[JsonSerializable(typeof(OllamaGenerateDto))]
[JsonSerializable(typeof(OllamaTagsDto))]
[JsonSerializable(typeof(OllamaPsDto))]
[JsonSerializable(typeof(OllamaShowDto))]
[JsonSerializable(typeof(OllamaVersionDto))]
[JsonSerializable(typeof(VllmGenerateDto))]
[JsonSerializable(typeof(TokenizeDto))]
[JsonSerializable(typeof(DetokenizeDto))]
[JsonSerializable(typeof(HealthDto))]
internal sealed partial class ServerJsonContext : JsonSerializerContext;
