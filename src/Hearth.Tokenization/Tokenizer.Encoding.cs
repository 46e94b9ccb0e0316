using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using Hearth.Tokenization.Bpe;

namespace Hearth.Tokenization;

public sealed partial class Tokenizer
{
    /// <summary>Encodes text without adding special tokens; added tokens written in the text are matched.</summary>
    public int[] Encode(string text)
    {
        var ids = new List<int>(text.Length / 3 + 4);
        Encode(text, ids);
        return ids.ToArray();
    }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> output)
    {
        int searchFrom = 0, consumed = 0;
        while (_rawAddedTokens.TryFindNext(text, ref searchFrom, consumed, out int start, out int end, out var token))
        {
            // An rstrip'ed token can reach past a later match's start; never hand text back twice.
            start = Math.Max(start, consumed);
            EncodeUnmatched(text[consumed..start], output);
            output.Add(token.Id);
            consumed = end;
            searchFrom = Math.Max(searchFrom, end);
        }
        EncodeUnmatched(text[consumed..], output);
    }

    // Text between raw added tokens: normalize, split out normalized added tokens, then pre-tokenize and BPE.
    private void EncodeUnmatched(ReadOnlySpan<char> text, List<int> output)
    {
        if (text.IsEmpty) return;
        string? normalized = TextNormalizer.Normalize(text, _nfc);
        ReadOnlySpan<char> clean = normalized ?? text;
        if (_normalizedAddedTokens.IsEmpty)
        {
            EncodeOrdinary(clean, output);
            return;
        }
        int searchFrom = 0, consumed = 0;
        while (_normalizedAddedTokens.TryFindNext(clean, ref searchFrom, consumed, out int start, out int end, out var token))
        {
            start = Math.Max(start, consumed);
            EncodeOrdinary(clean[consumed..start], output);
            output.Add(token.Id);
            consumed = end;
            searchFrom = Math.Max(searchFrom, end);
        }
        EncodeOrdinary(clean[consumed..], output);
    }

    private void EncodeOrdinary(ReadOnlySpan<char> text, List<int> output)
    {
        for (int start = 0; start < text.Length;)
        {
            int end = _pattern.NextPieceEnd(text, start);
            EncodePiece(text[start..end], output);
            start = end;
        }
    }

    private void EncodePiece(ReadOnlySpan<char> piece, List<int> output)
    {
        bool cacheable = piece.Length <= MaxCachedPieceChars;
        if (cacheable && _pieceCacheBySpan.TryGetValue(piece, out var cached))
        {
            output.AddRange(cached);
            return;
        }

        int maxBytes = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rented = maxBytes > StackallocBytesLimit ? ArrayPool<byte>.Shared.Rent(maxBytes) : null;
        Span<byte> buffer = rented ?? stackalloc byte[StackallocBytesLimit];
        int byteCount = Encoding.UTF8.GetBytes(piece, buffer);
        int first = output.Count;
        _model.EncodeWord(buffer[..byteCount], output);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);

        // Bounded like HF's word cache: once full, new pieces are simply not remembered.
        // ConcurrentDictionary.Count takes every lock, so the size is tracked separately.
        if (cacheable && Volatile.Read(ref _pieceCacheCount) < MaxCachedPieces
            && _pieceCacheBySpan.TryAdd(piece, CollectionsMarshal.AsSpan(output)[first..].ToArray()))
            Interlocked.Increment(ref _pieceCacheCount);
    }

    /// <summary>
    /// Turns ids into text: the tokens' bytes joined and read as UTF-8, invalid sequences becoming U+FFFD
    /// (as HF's ByteLevel decoder does). Ids outside the vocabulary are skipped.
    /// </summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            if (skipSpecialTokens && IsSpecial(id)) continue;
            AppendTokenBytes(id, bytes);
        }
        return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes));
    }
}
