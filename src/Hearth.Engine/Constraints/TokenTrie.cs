using System.Runtime.CompilerServices;
using Hearth.Tokenization;

namespace Hearth.Engine.Constraints;

/// <summary>
/// The vocabulary's byte strings as a trie, so a constraint can test every token against a byte-level grammar
/// while sharing the work of common prefixes. Built once per tokenizer (about a second for 150K tokens) and
/// shared read-only by every request. Special tokens are left out: structured output never contains them.
/// </summary>
public sealed class TokenTrie
{
    private static readonly ConditionalWeakTable<Tokenizer, TokenTrie> Cache = new();

    // Node 0 is the root. Children of a node are a sibling chain.
    private readonly int[] _firstChild;
    private readonly int[] _nextSibling;
    private readonly byte[] _label;
    private readonly int[] _firstToken; // head of the chain of token ids whose bytes end at this node, or -1
    private readonly int[] _nextToken;  // [vocab] next id in that chain, or -1

    private TokenTrie(Tokenizer tokenizer, int[] firstChild, int[] nextSibling, byte[] label, int[] firstToken, int[] nextToken, int vocabSize)
    {
        Tokenizer = tokenizer;
        _firstChild = firstChild;
        _nextSibling = nextSibling;
        _label = label;
        _firstToken = firstToken;
        _nextToken = nextToken;
        VocabSize = vocabSize;
    }

    public Tokenizer Tokenizer { get; }

    public int VocabSize { get; }

    public int NumNodes => _label.Length;

    public static TokenTrie For(Tokenizer tokenizer) => Cache.GetValue(tokenizer, Build);

    private static TokenTrie Build(Tokenizer tokenizer)
    {
        int vocab = tokenizer.VocabSize;
        var firstChild = new List<int> { -1 };
        var nextSibling = new List<int> { -1 };
        var label = new List<byte> { 0 };
        var firstToken = new List<int> { -1 };
        var nextToken = new int[vocab];
        Array.Fill(nextToken, -1);
        var bytes = new List<byte>(64);
        for (int id = 0; id < vocab; id++)
        {
            if (tokenizer.IsSpecial(id)) continue;
            bytes.Clear();
            tokenizer.AppendTokenBytes(id, bytes);
            if (bytes.Count == 0) continue;
            int node = 0;
            foreach (byte b in bytes)
            {
                int child = firstChild[node];
                while (child >= 0 && label[child] != b) child = nextSibling[child];
                if (child < 0)
                {
                    child = label.Count;
                    label.Add(b);
                    firstChild.Add(-1);
                    firstToken.Add(-1);
                    nextSibling.Add(firstChild[node]);
                    firstChild[node] = child;
                }
                node = child;
            }
            nextToken[id] = firstToken[node];
            firstToken[node] = id;
        }
        return new TokenTrie(tokenizer, [.. firstChild], [.. nextSibling], [.. label], [.. firstToken], nextToken, vocab);
    }

    internal int FirstChild(int node) => _firstChild[node];

    internal int NextSibling(int node) => _nextSibling[node];

    internal byte Label(int node) => _label[node];

    internal int FirstToken(int node) => _firstToken[node];

    internal int NextToken(int tokenId) => _nextToken[tokenId];
}
