using System.Collections.Concurrent;
using System.Text;
using Hearth.Core;
using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (Qwen2/Qwen3, Llama 3) whose encoding equals HF tokenizers':
/// added tokens are split out first, the rest is NFC-normalized, split by the model's pattern and BPE-merged.
/// Thread-safe.
/// </summary>
public sealed partial class Tokenizer
{
    private const int MaxCachedPieceChars = 64;
    private const int MaxCachedPieces = 100_000;
    private const int StackallocBytesLimit = 1024;

    private readonly BpeModel _model;
    private readonly SplitPattern _pattern;
    private readonly bool _nfc;
    private readonly AddedTokenMatcher _rawAddedTokens;          // matched before normalization
    private readonly AddedTokenMatcher _normalizedAddedTokens;   // matched in normalized text
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly string?[] _idToToken;                        // [VocabSize]
    private readonly bool[] _isSpecial;                           // [VocabSize]
    private readonly byte[] _tokenBytes;                          // all tokens' bytes, back to back
    private readonly int[] _tokenByteStarts;                      // [VocabSize + 1] offsets into _tokenBytes
    private readonly ConcurrentDictionary<string, int[]> _pieceCache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _pieceCacheBySpan;
    private int _pieceCacheCount;

    private Tokenizer(TokenizerDefinition definition, TokenizerConfig config)
    {
        Config = config;
        _vocab = definition.Vocab;
        _nfc = definition.Nfc;
        _pattern = definition.Pattern;
        _model = new BpeModel(definition.Vocab, definition.Merges, definition.IgnoreMerges);
        _pieceCacheBySpan = _pieceCache.GetAlternateLookup<ReadOnlySpan<char>>();

        // tokenizer.json wins over tokenizer_config.json for a token both list.
        var added = new Dictionary<int, AddedTokenSpec>();
        foreach (var t in config.AddedTokens) added[t.Id] = t;
        foreach (var t in definition.AddedTokens) added[t.Id] = t;
        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in added.Values) _addedByContent[t.Content] = t.Id;
        _rawAddedTokens = new AddedTokenMatcher(added.Values.Where(t => !t.Normalized));
        _normalizedAddedTokens = new AddedTokenMatcher(added.Values.Where(t => t.Normalized)
            .Select(t => t with { Content = _nfc ? TextNormalizer.Normalize(t.Content, true) ?? t.Content : t.Content }));

        int maxId = -1;
        foreach (int id in _vocab.Values) maxId = Math.Max(maxId, id);
        foreach (int id in added.Keys) maxId = Math.Max(maxId, id);
        VocabSize = maxId + 1;

        _idToToken = new string?[VocabSize];
        _isSpecial = new bool[VocabSize];
        foreach (var (token, id) in _vocab) _idToToken[id] = token;
        foreach (var t in added.Values)
        {
            _idToToken[t.Id] = t.Content;
            _isSpecial[t.Id] = t.Special;
        }
        (_tokenBytes, _tokenByteStarts) = BuildTokenBytes(_idToToken);
    }

    public TokenizerConfig Config { get; }

    /// <summary>Max id + 1 over the vocabulary and the added tokens.</summary>
    public int VocabSize { get; }

    /// <summary>Loads tokenizer.json and, when present, tokenizer_config.json (and chat_template.jinja) from a model directory.</summary>
    public static Tokenizer Load(string modelDirectory)
    {
        string tokenizerPath = Path.Combine(modelDirectory, "tokenizer.json");
        if (!File.Exists(tokenizerPath)) throw new HearthException($"No tokenizer.json in {modelDirectory}.");
        string configPath = Path.Combine(modelDirectory, "tokenizer_config.json");
        string templatePath = Path.Combine(modelDirectory, "chat_template.jinja");
        try
        {
            var definition = TokenizerJsonReader.Read(File.ReadAllText(tokenizerPath));
            var config = File.Exists(configPath) ? TokenizerConfig.Parse(File.ReadAllText(configPath)) : new TokenizerConfig();
            // Newer transformers versions save the template beside the config instead of inside it.
            if (config.ChatTemplate is null && File.Exists(templatePath))
                config = config.WithChatTemplate(File.ReadAllText(templatePath));
            return new Tokenizer(definition, config);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HearthException($"Cannot read the tokenizer files in {modelDirectory}: {e.Message}", e);
        }
    }

    public static Tokenizer FromJson(string tokenizerJson, string? tokenizerConfigJson = null)
    {
        var definition = TokenizerJsonReader.Read(tokenizerJson);
        var config = tokenizerConfigJson is null ? new TokenizerConfig() : TokenizerConfig.Parse(tokenizerConfigJson);
        return new Tokenizer(definition, config);
    }

    /// <summary>The id of a token string (added tokens by content, vocabulary entries in byte-level form).</summary>
    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out int id) ? id : _vocab.TryGetValue(token, out id) ? id : null;

    /// <summary>The token string of an id (added tokens: their content; others: byte-level form), or null.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)_idToToken.Length ? _idToToken[id] : null;

    public bool IsSpecial(int id) => (uint)id < (uint)_isSpecial.Length && _isSpecial[id];

    /// <summary>
    /// Appends the raw bytes a token stands for. For an added token that is the UTF-8 of its content, except where
    /// every character of the content lies in the byte-level alphabet: HF's ByteLevel decoder then maps it like a
    /// vocabulary token, and so does this (the two agree for ASCII tokens such as Qwen's). Unknown ids add nothing.
    /// </summary>
    public void AppendTokenBytes(int id, List<byte> output)
    {
        if ((uint)id >= (uint)VocabSize) return;
        int start = _tokenByteStarts[id];
        output.AddRange(_tokenBytes.AsSpan(start, _tokenByteStarts[id + 1] - start));
    }

    private static (byte[] Bytes, int[] Starts) BuildTokenBytes(string?[] idToToken)
    {
        var bytes = new List<byte>(idToToken.Length * 8);
        var starts = new int[idToToken.Length + 1];
        for (int id = 0; id < idToToken.Length; id++)
        {
            starts[id] = bytes.Count;
            string? token = idToToken[id];
            // HF's ByteLevel decoder: a token maps through the byte alphabet if it can, else it is taken as UTF-8.
            if (token is not null && !ByteLevelAlphabet.TryDecode(token, bytes)) bytes.AddRange(Encoding.UTF8.GetBytes(token));
        }
        starts[idToToken.Length] = bytes.Count;
        return (bytes.ToArray(), starts);
    }
}
