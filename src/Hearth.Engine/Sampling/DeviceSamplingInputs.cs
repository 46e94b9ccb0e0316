using Hearth.Backends.Cuda;

namespace Hearth.Engine.Sampling;

/// <summary>
/// The host half of sampling on the GPU: one step's rows of <see cref="SamplingRowParams"/>, each row's uniform
/// number drawn from the request's own <see cref="SamplerRng"/> (one draw per sampled step, as the CPU sampler
/// makes, so a seed reproduces its output on the same device), and each penalized row's distinct prompt and
/// output tokens with their output counts. Scratch is sized once per vocabulary and grows only for longer
/// contexts, so a step allocates nothing in the steady state. One instance serves the engine thread.
/// </summary>
public sealed class DeviceSamplingInputs
{
    private readonly int[] _slotOf;      // [vocab] entry index + 1 of a token in the current row, 0 when absent
    private SamplingRowParams[] _rows;
    private int[] _offsets;              // [rows + 1]
    private int[] _tokens = new int[256];
    private int[] _counts = new int[256];

    public DeviceSamplingInputs(int vocabSize, int maxRows)
    {
        _slotOf = new int[vocabSize];
        _rows = new SamplingRowParams[Math.Max(1, maxRows)];
        _offsets = new int[Math.Max(1, maxRows) + 1];
    }

    public int NumRows { get; private set; }

    public int NumPenaltyTokens => _offsets[NumRows];

    public ReadOnlySpan<SamplingRowParams> Rows => _rows.AsSpan(0, NumRows);

    public ReadOnlySpan<int> Offsets => _offsets.AsSpan(0, NumRows + 1);

    public ReadOnlySpan<int> PenaltyTokens => _tokens.AsSpan(0, NumPenaltyTokens);

    public ReadOnlySpan<int> PenaltyCounts => _counts.AsSpan(0, NumPenaltyTokens);

    /// <summary>
    /// Whether a request can sample on the GPU: everything but logprobs (computed from the raw logits on the host)
    /// and constraints (which mask the logits on the host) can.
    /// </summary>
    public static bool Supports(SamplingParams p, bool logprobs, bool constrained) => !logprobs && p.TopLogprobs == 0 && !constrained;

    public void Clear() => NumRows = 0;

    /// <summary>Appends the next row; draws its uniform number from <paramref name="rng"/> unless the row is greedy.</summary>
    public void Add(SamplingParams p, ReadOnlySpan<int> promptTokens, ReadOnlySpan<int> outputTokens, ref SamplerRng rng)
    {
        if (NumRows == _rows.Length)
        {
            Array.Resize(ref _rows, NumRows * 2);
            Array.Resize(ref _offsets, NumRows * 2 + 1);
        }
        var row = new SamplingRowParams
        {
            Temperature = p.IsGreedy ? 0f : p.Temperature,
            TopK = p.TopK,
            TopP = p.TopP,
            MinP = p.MinP,
            RepetitionPenalty = p.RepetitionPenalty,
            PresencePenalty = p.PresencePenalty,
            FrequencyPenalty = p.FrequencyPenalty,
            Uniform = p.IsGreedy ? 0f : SamplingRowParams.ToUniform(rng.NextDouble()),
        };
        _rows[NumRows] = row;
        int start = _offsets[NumRows], end = start;
        bool repetition = p.RepetitionPenalty != 1f, counted = p.FrequencyPenalty != 0 || p.PresencePenalty != 0;
        if (repetition)
            foreach (int t in promptTokens) end = Note(t, start, end, output: false);
        if (repetition || counted)
            foreach (int t in outputTokens) end = Note(t, start, end, output: counted);
        for (int i = start; i < end; i++) _slotOf[_tokens[i]] = 0;
        NumRows++;
        _offsets[NumRows] = end;
    }

    // Adds token t once per row; an output occurrence adds to its count.
    private int Note(int t, int start, int end, bool output)
    {
        if ((uint)t >= (uint)_slotOf.Length) return end;
        int slot = _slotOf[t] - 1;
        if (slot < start)
        {
            if (end == _tokens.Length)
            {
                Array.Resize(ref _tokens, end * 2);
                Array.Resize(ref _counts, end * 2);
            }
            slot = end++;
            _tokens[slot] = t;
            _counts[slot] = 0;
            _slotOf[t] = slot + 1;
        }
        if (output) _counts[slot]++;
        return end;
    }
}
