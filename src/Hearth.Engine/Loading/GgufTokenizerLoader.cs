using Hearth.Models.Gguf;
using Hearth.Tokenization;

namespace Hearth.Engine.Loading;

/// <summary>The tokenizer and chat template a GGUF file embeds (tokenizer.ggml.*, tokenizer.chat_template).</summary>
public static class GgufTokenizerLoader
{
    /// <summary>The embedded tokenizer, or null when the file carries none (it then runs on token ids).</summary>
    public static Tokenizer? Load(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.TryGetMetadata("tokenizer.ggml.tokens", out var tokens)) return null;
        string? OptionalString(string key) => file.TryGetMetadata(key, out var v) ? v.AsString(key) : null;
        int? OptionalInt(string key) => file.TryGetMetadata(key, out var v) ? v.AsInt32(key) : null;
        var data = new GgufTokenizerData
        {
            Model = OptionalString("tokenizer.ggml.model") ?? "(none)",
            Pre = OptionalString("tokenizer.ggml.pre"),
            Tokens = tokens.AsStringArray("tokenizer.ggml.tokens"),
            TokenTypes = file.TryGetMetadata("tokenizer.ggml.token_type", out var types) ? types.AsInt32Array("tokenizer.ggml.token_type") : [],
            Merges = file.TryGetMetadata("tokenizer.ggml.merges", out var merges) ? merges.AsStringArray("tokenizer.ggml.merges") : [],
            BosTokenId = OptionalInt("tokenizer.ggml.bos_token_id"),
            EosTokenId = OptionalInt("tokenizer.ggml.eos_token_id"),
            PaddingTokenId = OptionalInt("tokenizer.ggml.padding_token_id"),
            AddBosToken = file.TryGetMetadata("tokenizer.ggml.add_bos_token", out var addBos) && addBos.AsBool("tokenizer.ggml.add_bos_token"),
            ChatTemplate = OptionalString("tokenizer.chat_template"),
        };
        return Tokenizer.FromGguf(data);
    }
}
