using System.Text.Json.Nodes;
using Hearth.Server.Generation;

namespace Hearth.Server.Api.OpenAi;

/// <summary>A validated /v1/chat/completions request, ready to render and run.</summary>
internal sealed record ChatCompletionRequest(
    string Model,
    JsonArray Messages,
    JsonArray? TemplateTools,
    bool ParseToolCalls,
    bool ParallelToolCalls,
    Dictionary<string, JsonNode?> TemplateKwargs,
    bool AddGenerationPrompt,
    GenerationSettings Settings,
    bool Stream,
    bool IncludeUsage)
{
    /// <summary>response_format json_object or json_schema: decoding is held to one JSON object.</summary>
    public bool JsonOutput { get; init; }
}
