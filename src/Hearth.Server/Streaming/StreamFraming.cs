namespace Hearth.Server.Streaming;

/// <summary>How a streamed response frames its objects.</summary>
public enum StreamFraming
{
    /// <summary>Server-sent events: "data: {...}\n\n", ending with "data: [DONE]\n\n" (OpenAI).</summary>
    ServerSentEvents,

    /// <summary>One JSON object per line (Ollama, vLLM's /generate).</summary>
    NewlineDelimitedJson,
}
