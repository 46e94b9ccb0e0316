using System.Text.Json.Nodes;

namespace Hearth.Server.Hosting;

/// <summary>
/// The text side of the served model as the server needs it: tokenizer, chat template and output parser.
/// The server never sees tensors; it turns JSON into token ids through this and hands them to the engine.
/// </summary>
public interface IChatTextModel
{
    int VocabSize { get; }

    /// <summary>Token ids of <paramref name="text"/> with special tokens recognized and none added.</summary>
    IReadOnlyList<int> Encode(string text);

    string Decode(IReadOnlyList<int> tokenIds, bool skipSpecialTokens);

    /// <summary>The prompt for a chat, rendered with the model's chat template.</summary>
    string RenderChat(JsonArray messages, JsonArray? tools, bool addGenerationPrompt, IReadOnlyDictionary<string, JsonNode?>? templateKwargs);

    /// <summary>A fresh constraint that holds one response to a single JSON object (after any think block the prompt allows).</summary>
    Hearth.Engine.Sampling.ITokenConstraint CreateJsonConstraint(string promptText);

    /// <summary>A fresh parser for one response; the prompt's tail tells whether output starts inside a think block.</summary>
    IChatOutputParser CreateOutputParser(string promptText, bool parseToolCalls);
}
