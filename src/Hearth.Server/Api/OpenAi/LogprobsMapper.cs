using System.Text;
using Hearth.Engine;
using Hearth.Server.Hosting;
using Hearth.Server.Json;

namespace Hearth.Server.Api.OpenAi;

/// <summary>
/// Engine logprobs to OpenAI's shapes. A token's text is its own decoding, so a token holding part of a
/// multi-byte character shows as U+FFFD (as in vLLM); its bytes are those of that text.
/// </summary>
internal static class LogprobsMapper
{
    public static ChatLogprobsDto? Chat(IReadOnlyList<TokenLogprobs>? logprobs, IChatTextModel text, int topCount)
    {
        if (logprobs is null || logprobs.Count == 0) return null;
        var content = new TokenLogprobDto[logprobs.Count];
        for (var i = 0; i < logprobs.Count; i++)
        {
            var entry = logprobs[i];
            var top = new TopLogprobDto[Math.Min(topCount, entry.Top.Count)];
            for (var k = 0; k < top.Length; k++)
            {
                var token = TokenText(text, entry.Top[k].TokenId);
                top[k] = new TopLogprobDto(token, entry.Top[k].Logprob, Bytes(token));
            }
            var chosen = TokenText(text, entry.TokenId);
            content[i] = new TokenLogprobDto(chosen, entry.Logprob, Bytes(chosen), top);
        }
        return new ChatLogprobsDto(content);
    }

    /// <summary>Appends to the legacy completions lists: tokens, token_logprobs, top_logprobs, text_offset.</summary>
    public static void AppendLegacy(LegacyLogprobsDto legacy, IReadOnlyList<TokenLogprobs> logprobs, IChatTextModel text, int topCount, ref int textOffset)
    {
        foreach (var entry in logprobs)
        {
            var token = TokenText(text, entry.TokenId);
            legacy.Tokens.Add(token);
            legacy.TokenLogprobs.Add(entry.Logprob);
            var top = new Dictionary<string, float>(StringComparer.Ordinal);
            for (var k = 0; k < Math.Min(topCount, entry.Top.Count); k++)
                top.TryAdd(TokenText(text, entry.Top[k].TokenId), entry.Top[k].Logprob);
            legacy.TopLogprobs.Add(top);
            legacy.TextOffset.Add(textOffset);
            textOffset += token.Length;
        }
    }

    public static string TokenText(IChatTextModel text, int tokenId) => text.Decode([tokenId], skipSpecialTokens: false);

    private static int[] Bytes(string token)
    {
        var bytes = Encoding.UTF8.GetBytes(token);
        var ints = new int[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) ints[i] = bytes[i];
        return ints;
    }
}
