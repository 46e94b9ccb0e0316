using Hearth.Engine.Sampling;
using Hearth.Tokenization.Constraints;

namespace Hearth.Engine.Constraints;

/// <summary>
/// Holds a request's answer to one JSON object (OpenAI's response_format json_object, Ollama's format "json"):
/// at each step only tokens that keep the text a prefix of valid JSON may be sampled, and once the object is
/// closed only an end token. A reasoning model may think first: the constraint starts after the think block,
/// as vLLM's structured output does with a reasoning parser.
/// </summary>
public sealed class JsonObjectConstraint : ITokenConstraint
{
    private const int MaxCachedMasks = 256;

    private readonly TokenTrie _trie;
    private readonly int? _thinkOpenTokenId;
    private readonly int? _thinkCloseTokenId;
    private readonly Dictionary<(ulong, ulong), ulong[]> _maskCache = [];
    private readonly List<byte> _tokenBytes = new(64);
    private JsonPrefixScanner _scanner;
    private Phase _phase;

    private enum Phase { MayOpenThink, Thinking, Json, Broken }

    /// <param name="trie">The vocabulary (shared).</param>
    /// <param name="startsInsideThink">The prompt opened a think block, so the answer begins as reasoning.</param>
    /// <param name="thinkOpenTokenId">When set (and not already inside), the model may open a think block first.</param>
    /// <param name="thinkCloseTokenId">The token that ends reasoning; required when reasoning is possible.</param>
    public JsonObjectConstraint(TokenTrie trie, bool startsInsideThink = false, int? thinkOpenTokenId = null, int? thinkCloseTokenId = null)
    {
        ArgumentNullException.ThrowIfNull(trie);
        if ((startsInsideThink || thinkOpenTokenId is not null) && thinkCloseTokenId is null)
            throw new ArgumentException("a think block needs its closing token id", nameof(thinkCloseTokenId));
        _trie = trie;
        _thinkOpenTokenId = thinkOpenTokenId;
        _thinkCloseTokenId = thinkCloseTokenId;
        _phase = startsInsideThink ? Phase.Thinking : thinkOpenTokenId is not null ? Phase.MayOpenThink : Phase.Json;
    }

    /// <summary>The object has been closed.</summary>
    public bool IsComplete => _phase == Phase.Json && _scanner.IsComplete;

    public void MaskLogits(Span<float> logits, ReadOnlySpan<int> endTokenIds)
    {
        // Models pad their vocabulary past the tokenizer's; padding ids have no text and are never allowed.
        if (logits.Length < _trie.VocabSize) throw new ArgumentException($"expected at least {_trie.VocabSize} logits, got {logits.Length}");
        if (_phase is Phase.Thinking or Phase.Broken) return;
        if (_scanner.IsComplete)
        {
            // Nothing may follow the object; with no end token to offer (ignore_eos) the length limit ends it.
            if (endTokenIds.IsEmpty) return;
            for (int id = 0; id < logits.Length; id++)
                if (!endTokenIds.Contains(id)) logits[id] = float.NegativeInfinity;
            return;
        }
        var allowed = AllowedMask();
        int? alsoAllowed = _phase == Phase.MayOpenThink ? _thinkOpenTokenId : null;
        for (int id = 0; id < _trie.VocabSize; id++)
            if ((allowed[id >> 6] & (1UL << id)) == 0 && id != alsoAllowed) logits[id] = float.NegativeInfinity;
        logits[_trie.VocabSize..].Fill(float.NegativeInfinity);
    }

    public void Accept(int tokenId)
    {
        switch (_phase)
        {
            case Phase.Thinking:
                if (tokenId == _thinkCloseTokenId) _phase = Phase.Json;
                return;
            case Phase.MayOpenThink when tokenId == _thinkOpenTokenId:
                _phase = Phase.Thinking;
                return;
            case Phase.MayOpenThink:
                _phase = Phase.Json;
                break;
            case Phase.Broken:
                return;
        }
        if (_scanner.IsComplete) return; // an end token
        _tokenBytes.Clear();
        _trie.Tokenizer.AppendTokenBytes(tokenId, _tokenBytes);
        var next = _scanner;
        // Only a token the mask allowed can arrive here; anything else (the mask was bypassed) switches the constraint off.
        if (_tokenBytes.Count == 0 || !next.Push(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokenBytes))) _phase = Phase.Broken;
        else _scanner = next;
    }

    /// <summary>One bit per token id: may it come next? Cached per scanner state, since states repeat (inside strings above all).</summary>
    private ulong[] AllowedMask()
    {
        var key = _scanner.Key;
        if (_maskCache.TryGetValue(key, out var cached)) return cached;
        var allowed = new ulong[(_trie.VocabSize + 63) / 64];
        Walk(0, _scanner, allowed);
        if (_maskCache.Count >= MaxCachedMasks) _maskCache.Clear();
        _maskCache[key] = allowed;
        return allowed;
    }

    private void Walk(int node, JsonPrefixScanner state, ulong[] allowed)
    {
        for (int child = _trie.FirstChild(node); child >= 0; child = _trie.NextSibling(child))
        {
            var next = state;
            if (!next.Push(_trie.Label(child))) continue;
            for (int id = _trie.FirstToken(child); id >= 0; id = _trie.NextToken(id)) allowed[id >> 6] |= 1UL << id;
            if (_trie.FirstChild(child) >= 0) Walk(child, next, allowed);
        }
    }
}
