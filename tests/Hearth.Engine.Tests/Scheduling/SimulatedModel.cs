using Hearth.Core.Config;
using Hearth.Engine.Scheduling;

namespace Hearth.Engine.Tests.Scheduling;

/// <summary>
/// A fake model runner over a simulated paged KV store. Like attention, each new token's cache entry is
/// derived from the entries already in the cache (its predecessor's value and its own token), so a block
/// holding the wrong prefix changes every later value and the output. Before sampling it checks, through
/// the block table, that the cache holds exactly the sequence's tokens at positions 0..p.
/// </summary>
internal sealed class SimulatedModel
{
    public const int VocabSize = 500;
    public const int EosTokenId = 499;
    private const ulong Seed = 0x51ED270B27CE1D9BUL;

    private readonly int[] _slotToken; // [numBlocks * blockSize]
    private readonly int[] _slotPosition; // [numBlocks * blockSize]
    private readonly ulong[] _slotValue; // [numBlocks * blockSize] stand-in for the key/value vectors
    private readonly int[] _sampled; // [maxNumSeqs]

    public SimulatedModel(SchedulerConfig config)
    {
        int numSlots = config.NumBlocks * config.BlockSize;
        _slotToken = new int[numSlots];
        _slotPosition = new int[numSlots];
        _slotValue = new ulong[numSlots];
        Array.Fill(_slotPosition, -1);
        _sampled = new int[config.MaxNumSeqs];
        Inputs = new BatchInputs(config);
    }

    public BatchInputs Inputs { get; }

    public long NumStepsRun { get; private set; }

    /// <summary>The cache value at position p of a sequence, computed from its tokens alone (the ground truth).</summary>
    public static ulong Value(ulong previous, int tokenId, int position) =>
        Mix(previous ^ ((ulong)(uint)tokenId << 20) ^ (ulong)position ^ Seed);

    public static int NextToken(ulong lastValue)
    {
        ulong h = Mix(lastValue + 0x1234567UL);
        return h % 19 == 0 ? EosTokenId : (int)(h % (VocabSize - 1));
    }

    /// <summary>What a sequence generates when nothing else runs and no cache exists.</summary>
    public static int[] Reference(ReadOnlySpan<int> prompt, int maxTokens, bool stopAtEos = true)
    {
        var tokens = new List<int>(prompt.ToArray());
        ulong value = 0;
        int fed = 0;
        var output = new List<int>();
        while (output.Count < maxTokens)
        {
            for (; fed < tokens.Count; fed++) value = Value(value, tokens[fed], fed);
            int next = NextToken(value);
            output.Add(next);
            tokens.Add(next);
            if (stopAtEos && next == EosTokenId) break;
        }
        return output.ToArray();
    }

    /// <summary>Runs one scheduled step: writes the batch into the cache, verifies it, samples, postprocesses.</summary>
    public SchedulerOutput Step(Scheduler scheduler)
    {
        SchedulerOutput output = scheduler.Schedule();
        if (output.IsEmpty) return output;
        Run(output, Inputs);
        scheduler.Postprocess(_sampled.AsSpan(0, output.NumSampledSeqs));
        NumStepsRun++;
        return output;
    }

    /// <summary>Steps until nothing is left; fails if that takes more than maxSteps.</summary>
    public void RunToCompletion(Scheduler scheduler, int maxSteps, Action<SchedulerOutput>? afterStep = null)
    {
        for (int step = 0; scheduler.HasUnfinished; step++)
        {
            Assert.True(step < maxSteps, $"Not done after {maxSteps} steps.");
            SchedulerOutput output = Step(scheduler);
            // An empty step changes nothing, so with requests left it would repeat forever.
            Assert.False(output.IsEmpty && scheduler.HasUnfinished, "Nothing was scheduled while requests are left: the scheduler is stuck.");
            afterStep?.Invoke(output);
        }
    }

    private void Run(SchedulerOutput output, BatchInputs inputs)
    {
        inputs.Fill(output);
        int blockSize = inputs.BlockSize;
        for (int i = 0; i < inputs.NumSeqs; i++)
        {
            Sequence seq = output.Scheduled[i].Sequence;
            ReadOnlySpan<int> table = inputs.BlockTables.AsSpan(i * inputs.MaxBlocksPerSeq, inputs.MaxBlocksPerSeq);
            for (int row = inputs.QueryStartLocs[i]; row < inputs.QueryStartLocs[i + 1]; row++)
            {
                int pos = inputs.Positions[row];
                int expectedSlot = table[pos / blockSize] * blockSize + pos % blockSize;
                Assert.Equal(expectedSlot, inputs.SlotMapping[row]);
                ulong previous = pos == 0 ? 0 : _slotValue[SlotOf(table, pos - 1, blockSize)];
                int slot = inputs.SlotMapping[row];
                _slotToken[slot] = inputs.TokenIds[row];
                _slotPosition[slot] = pos;
                _slotValue[slot] = Value(previous, inputs.TokenIds[row], pos);
            }
            VerifyCache(seq, table, inputs.SeqLens[i], blockSize);
        }
        for (int k = 0; k < inputs.NumSampled; k++)
        {
            int row = inputs.SampleRowIndices[k];
            int seqIndex = inputs.SampleSeqIndices[k];
            Assert.Equal(inputs.QueryStartLocs[seqIndex + 1] - 1, row);
            _sampled[k] = NextToken(_slotValue[inputs.SlotMapping[row]]);
        }
    }

    private void VerifyCache(Sequence seq, ReadOnlySpan<int> table, int seqLen, int blockSize)
    {
        ReadOnlySpan<int> tokens = seq.TokenIds;
        ulong value = 0;
        for (int p = 0; p < seqLen; p++)
        {
            int slot = SlotOf(table, p, blockSize);
            value = Value(value, tokens[p], p);
            if (_slotToken[slot] != tokens[p] || _slotPosition[slot] != p || _slotValue[slot] != value)
            {
                Assert.Fail($"Sequence {seq.Id}: cache slot {slot} for position {p} holds token {_slotToken[slot]} at position {_slotPosition[slot]}, expected token {tokens[p]}" +
                    (_slotValue[slot] != value ? " with a different prefix" : "") + ".");
            }
        }
    }

    private static int SlotOf(ReadOnlySpan<int> table, int pos, int blockSize) => table[pos / blockSize] * blockSize + pos % blockSize;

    private static ulong Mix(ulong x)
    {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
