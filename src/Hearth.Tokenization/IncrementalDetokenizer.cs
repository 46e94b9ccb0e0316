using System.Runtime.InteropServices;
using System.Text;

namespace Hearth.Tokenization;

/// <summary>
/// Streams text as token ids arrive. A character whose UTF-8 bytes span several tokens (most CJK characters and
/// emoji in byte-level BPE) is held back until complete, so the stream never shows a spurious U+FFFD, and the
/// concatenation of every Push plus Flush equals Decode of all the ids.
/// </summary>
public sealed class IncrementalDetokenizer
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly List<byte> _pending = new();   // bytes of an incomplete UTF-8 sequence, at most 3

    public IncrementalDetokenizer(Tokenizer tokenizer, bool skipSpecialTokens = false)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>The text that became complete with this token ("" if none).</summary>
    public string Push(int id)
    {
        if (_skipSpecialTokens && _tokenizer.IsSpecial(id)) return "";
        _tokenizer.AppendTokenBytes(id, _pending);
        var bytes = CollectionsMarshal.AsSpan(_pending);
        int complete = bytes.Length - IncompleteTailLength(bytes);
        if (complete == 0) return "";
        string text = Encoding.UTF8.GetString(bytes[..complete]);
        _pending.RemoveRange(0, complete);
        return text;
    }

    /// <summary>Whatever is left; bytes of an unfinished character come out as U+FFFD.</summary>
    public string Flush()
    {
        string text = Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(_pending));
        _pending.Clear();
        return text;
    }

    /// <summary>
    /// The length of a trailing sequence that is a valid but unfinished UTF-8 character. Cutting just before its
    /// lead byte is safe: a lead byte always starts a fresh sequence in a decoder, so no later byte can change how
    /// the earlier ones decode.
    /// </summary>
    internal static int IncompleteTailLength(ReadOnlySpan<byte> bytes)
    {
        for (int back = 1; back <= Math.Min(3, bytes.Length); back++)
        {
            byte b = bytes[^back];
            if ((b & 0xC0) == 0x80) continue;   // continuation byte: keep looking for the lead
            int needed = b switch
            {
                >= 0xC2 and <= 0xDF => 2,
                >= 0xE0 and <= 0xEF => 3,
                >= 0xF0 and <= 0xF4 => 4,
                _ => 0,
            };
            if (needed <= back) return 0;        // complete, or not a lead byte at all
            if (back >= 2 && !SecondByteAllowed(b, bytes[^(back - 1)])) return 0;
            return back;
        }
        return 0;
    }

    // The ranges UTF-8 allows right after E0, ED, F0 and F4 (no overlongs, surrogates or code points past U+10FFFF).
    private static bool SecondByteAllowed(byte lead, byte second) => lead switch
    {
        0xE0 => second >= 0xA0 && second <= 0xBF,
        0xED => second >= 0x80 && second <= 0x9F,
        0xF0 => second >= 0x90 && second <= 0xBF,
        0xF4 => second >= 0x80 && second <= 0x8F,
        _ => second >= 0x80 && second <= 0xBF,
    };
}
