namespace Hearth.Tokenization;

/// <summary>
/// The tokenizer a GGUF file embeds (tokenizer.ggml.* and tokenizer.chat_template), as plain values, so a GGUF
/// alone is a complete model. Token types follow llama.cpp: 1 normal, 2 unknown, 3 control, 4 user-defined,
/// 5 unused, 6 byte.
/// </summary>
public sealed class GgufTokenizerData
{
    public const int NormalType = 1;
    public const int UnknownType = 2;
    public const int ControlType = 3;
    public const int UserDefinedType = 4;
    public const int UnusedType = 5;
    public const int ByteType = 6;

    /// <summary>tokenizer.ggml.model; only "gpt2" (byte-level BPE) is supported.</summary>
    public required string Model { get; init; }

    /// <summary>tokenizer.ggml.pre: the pre-tokenizer, "qwen2" or "llama-bpe".</summary>
    public string? Pre { get; init; }

    /// <summary>[vocab] token strings in byte-level form; index = id.</summary>
    public required IReadOnlyList<string> Tokens { get; init; }

    /// <summary>[vocab] llama.cpp token types; empty means all normal.</summary>
    public IReadOnlyList<int> TokenTypes { get; init; } = [];

    /// <summary>"left right" pairs in rank order.</summary>
    public required IReadOnlyList<string> Merges { get; init; }

    public int? BosTokenId { get; init; }

    public int? EosTokenId { get; init; }

    public int? PaddingTokenId { get; init; }

    public bool AddBosToken { get; init; }

    public string? ChatTemplate { get; init; }
}
