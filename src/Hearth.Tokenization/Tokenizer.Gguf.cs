using Hearth.Core;
using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization;

public sealed partial class Tokenizer
{
    /// <summary>
    /// Builds the tokenizer a GGUF file embeds. Control tokens become special added tokens and user-defined ones
    /// non-special added tokens (both matched before normalization, as llama.cpp does); unused padding entries
    /// are left out.
    /// </summary>
    public static Tokenizer FromGguf(GgufTokenizerData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Model != "gpt2")
            throw new HearthException($"GGUF tokenizer model '{data.Model}' is not supported; Hearth runs byte-level BPE ('gpt2')");
        var (pattern, nfc) = data.Pre switch
        {
            "qwen2" => (SplitPattern.FromRegex(SplitPattern.Qwen2), true),
            "llama-bpe" or "llama3" => (SplitPattern.FromRegex(SplitPattern.Llama3), false),
            _ => throw new HearthException(
                $"GGUF pre-tokenizer '{data.Pre ?? "(none)"}' is not supported; Hearth runs 'qwen2' and 'llama-bpe'"),
        };
        if (data.TokenTypes.Count != 0 && data.TokenTypes.Count != data.Tokens.Count)
            throw new HearthException($"GGUF tokenizer has {data.Tokens.Count} tokens but {data.TokenTypes.Count} token types");

        var vocab = new Dictionary<string, int>(data.Tokens.Count, StringComparer.Ordinal);
        var added = new List<AddedTokenSpec>();
        for (int id = 0; id < data.Tokens.Count; id++)
        {
            int type = data.TokenTypes.Count == 0 ? GgufTokenizerData.NormalType : data.TokenTypes[id];
            string token = data.Tokens[id];
            switch (type)
            {
                case GgufTokenizerData.ControlType:
                case GgufTokenizerData.UserDefinedType:
                    added.Add(new AddedTokenSpec(id, token, type == GgufTokenizerData.ControlType, false, false, false, false));
                    break;
                case GgufTokenizerData.UnusedType:
                    break;
                default:
                    vocab.TryAdd(token, id);
                    break;
            }
        }

        var definition = new TokenizerDefinition
        {
            Vocab = vocab,
            Merges = BuildMerges(data.Merges, vocab),
            IgnoreMerges = false,
            Nfc = nfc,
            Pattern = pattern,
            AddedTokens = added,
        };
        string? TokenText(int? id) => id is { } i && (uint)i < (uint)data.Tokens.Count ? data.Tokens[i] : null;
        var config = new TokenizerConfig
        {
            ChatTemplate = data.ChatTemplate,
            EosToken = TokenText(data.EosTokenId),
            BosToken = TokenText(data.BosTokenId),
            PadToken = TokenText(data.PaddingTokenId),
            AddBosToken = data.AddBosToken,
        };
        return new Tokenizer(definition, config);
    }

    private static MergeTable BuildMerges(IReadOnlyList<string> merges, Dictionary<string, int> vocab)
    {
        var table = new MergeTable(merges.Count);
        var lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        for (int rank = 0; rank < merges.Count; rank++)
        {
            string text = merges[rank];
            int space = text.IndexOf(' ');
            if (space <= 0 || space == text.Length - 1 || text.IndexOf(' ', space + 1) >= 0)
                throw new HearthException($"GGUF tokenizer merge #{rank} \"{text}\" is not two tokens");
            if (!lookup.TryGetValue(text.AsSpan(0, space), out int left) || !lookup.TryGetValue(text.AsSpan(space + 1), out int right))
                throw new HearthException($"GGUF tokenizer merge #{rank} uses a token missing from the vocabulary");
            if (!vocab.TryGetValue(string.Concat(text.AsSpan(0, space), text.AsSpan(space + 1)), out int merged))
                throw new HearthException($"GGUF tokenizer merge #{rank} produces a token missing from the vocabulary");
            table.Set(left, right, rank, merged);
        }
        return table;
    }
}
