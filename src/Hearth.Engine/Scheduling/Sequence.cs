using System.Runtime.InteropServices;
using Hearth.Core;

namespace Hearth.Engine.Scheduling;

/// <summary>
/// One request as the scheduler sees it: its tokens, how many of them sit in the KV cache, and the blocks
/// holding them. The token buffer is sized for prompt + MaxTokens up front so decoding never allocates.
/// </summary>
public sealed class Sequence
{
    private readonly int[] _tokenIds; // [numPromptTokens + maxTokens]
    private readonly int[] _eosTokenIds;
    private readonly int[] _stopTokenIds;
    private readonly List<int> _blockTable = new();
    private readonly List<ulong> _blockHashes; // [full blocks hashed so far] chained hashes of this sequence's tokens

    public Sequence(long id, ReadOnlySpan<int> promptTokenIds, int maxTokens,
        ReadOnlySpan<int> eosTokenIds = default, ReadOnlySpan<int> stopTokenIds = default, object? tag = null)
    {
        if (promptTokenIds.IsEmpty) throw new HearthException($"Request {id} has an empty prompt; at least one token is needed.");
        if (maxTokens < 1) throw new HearthException($"Request {id} asks for max_tokens={maxTokens}; it must be at least 1.");
        Id = id;
        NumPromptTokens = promptTokenIds.Length;
        MaxTokens = maxTokens;
        _tokenIds = new int[checked(promptTokenIds.Length + maxTokens)];
        promptTokenIds.CopyTo(_tokenIds);
        NumTokens = promptTokenIds.Length;
        _eosTokenIds = eosTokenIds.ToArray();
        _stopTokenIds = stopTokenIds.ToArray();
        _blockHashes = new List<ulong>(_tokenIds.Length / 16 + 1);
        Tag = tag;
    }

    public long Id { get; }

    public int NumPromptTokens { get; }

    /// <summary>Prompt plus outputs so far.</summary>
    public int NumTokens { get; private set; }

    public int NumOutputTokens => NumTokens - NumPromptTokens;

    public int MaxTokens { get; }

    public ReadOnlySpan<int> PromptTokenIds => _tokenIds.AsSpan(0, NumPromptTokens);

    public ReadOnlySpan<int> OutputTokenIds => _tokenIds.AsSpan(NumPromptTokens, NumOutputTokens);

    /// <summary>Prompt followed by outputs.</summary>
    public ReadOnlySpan<int> TokenIds => _tokenIds.AsSpan(0, NumTokens);

    public ReadOnlySpan<int> EosTokenIds => _eosTokenIds;

    public ReadOnlySpan<int> StopTokenIds => _stopTokenIds;

    /// <summary>When true an eos token is kept as an ordinary output (stop token ids still stop).</summary>
    public bool IgnoreEos { get; init; }

    public SequenceStatus Status { get; internal set; } = SequenceStatus.Waiting;

    public FinishReason FinishReason { get; internal set; }

    /// <summary>The eos or stop token that ended the sequence, if one did.</summary>
    public int? StopTokenId { get; internal set; }

    /// <summary>Tokens whose keys and values are in the KV cache.</summary>
    public int NumComputedTokens { get; internal set; }

    /// <summary>Prompt tokens served from the prefix cache at first admission (usage reporting); -1 before it.</summary>
    public int NumCachedPromptTokens { get; internal set; } = -1;

    /// <summary>Times this sequence was preempted and sent back to recompute.</summary>
    public int NumPreemptions { get; internal set; }

    /// <summary>Set by the scheduler when the request is added; lower arrived earlier.</summary>
    public long ArrivalOrder { get; internal set; } = -1;

    /// <summary>KV blocks in position order: token at position p sits in block BlockTable[p / blockSize].</summary>
    public IReadOnlyList<int> BlockTable => _blockTable;

    public ReadOnlySpan<int> BlockTableSpan => CollectionsMarshal.AsSpan(_blockTable);

    /// <summary>Opaque to the scheduler: the engine keeps its sampling parameters and output channel here.</summary>
    public object? Tag { get; set; }

    public bool IsFinished => Status == SequenceStatus.Finished;

    internal List<int> MutableBlockTable => _blockTable;

    internal List<ulong> BlockHashes => _blockHashes;

    /// <summary>Leading blocks of the table already offered to the prefix cache (hits, or registered after compute).</summary>
    internal int NumRegisteredBlocks { get; set; }

    /// <summary>The scheduler's waiting-queue node while waiting, so an abort removes it in O(1).</summary>
    internal LinkedListNode<Sequence>? WaitingNode { get; set; }

    internal void AppendToken(int tokenId)
    {
        if (NumTokens == _tokenIds.Length) throw new InvalidOperationException($"Sequence {Id} already holds prompt + max_tokens tokens.");
        _tokenIds[NumTokens++] = tokenId;
    }

    internal bool IsStopToken(int tokenId)
    {
        if (!IgnoreEos && Array.IndexOf(_eosTokenIds, tokenId) >= 0) return true;
        return Array.IndexOf(_stopTokenIds, tokenId) >= 0;
    }

    public override string ToString() =>
        $"Sequence {Id} ({Status}, {NumComputedTokens}/{NumTokens} computed, {_blockTable.Count} blocks)";
}
