namespace Hearth.Server.Errors;

/// <summary>Which error body a route family uses: OpenAI's envelope (/v1 and vLLM routes) or Ollama's string.</summary>
public enum ApiStyle
{
    OpenAi,
    Ollama,
}
