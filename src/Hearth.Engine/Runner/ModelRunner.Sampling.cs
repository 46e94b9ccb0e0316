using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;
using Hearth.Engine.Sampling;

namespace Hearth.Engine.Runner;

// Sampling on the GPU for every request that needs no logprobs and no constraint: the step's parameters and
// penalty lists go up, the token ids come down, and the logits never leave the device.
public sealed partial class ModelRunner
{
    private Tensor _sampleParams, _sampleOffsets; // [maxLogitRows] SamplingRowParams, [maxLogitRows + 1] I32
    private DeviceBuffer? _penaltyBuffer;          // [capacity] tokens then [capacity] counts, I32
    private int _penaltyCapacity;

    /// <summary>True when <see cref="RunSampled"/> can run (CUDA; HEARTH_GPU_SAMPLING=0 turns it off).</summary>
    public bool CanSampleOnDevice => CanSampleGreedyOnDevice;

    /// <summary>
    /// Like <see cref="Run"/> but samples each row on the GPU with the parameters in <paramref name="sampling"/>
    /// (one row per logit row, in order), so only the token ids [rows] cross to the host.
    /// </summary>
    public unsafe void RunSampled(Scheduling.BatchInputs inputs, ReadOnlySpan<int> logitRows, DeviceSamplingInputs sampling, Span<int> tokens)
    {
        if (_cuda is null) throw new InvalidOperationException("sampling on the device needs the CUDA backend");
        int rows = logitRows.Length;
        if (rows == 0 || tokens.Length < rows || sampling.NumRows != rows) throw new ArgumentException("one sampling row and one token per logit row are needed");
        if (_sampleParams.IsEmpty)
        {
            _sampleParams = AllocateInt(_model.MaxLogitRows * sizeof(SamplingRowParams) / sizeof(int));
            _sampleOffsets = AllocateInt(_model.MaxLogitRows + 1);
        }
        var (penaltyTokens, penaltyCounts) = PenaltyTensors(Math.Max(1, sampling.NumPenaltyTokens));
        var logits = Forward(inputs, logitRows, out int bucket);
        _backend.CopyToDevice(sampling.Rows, _sampleParams);
        _backend.CopyToDevice(sampling.Offsets, _sampleOffsets);
        if (sampling.NumPenaltyTokens > 0)
        {
            _backend.CopyToDevice(sampling.PenaltyTokens, penaltyTokens);
            _backend.CopyToDevice(sampling.PenaltyCounts, penaltyCounts);
        }
        var ids = _sampledIds.SliceRows(0, rows);
        _cuda.SampleRows(logits.SliceRows(0, rows), _sampleParams, _sampleOffsets, penaltyTokens, penaltyCounts, ids);
        _backend.CopyToHost<int>(ids, tokens[..rows]);
        if (bucket > 0) CountEagerStep(bucket);
    }

    // Grows (by doubling) only when a step has more penalized tokens than any before it.
    private (Tensor Tokens, Tensor Counts) PenaltyTensors(int needed)
    {
        if (_penaltyBuffer is null || needed > _penaltyCapacity)
        {
            _backend.Synchronize();
            _penaltyBuffer?.Dispose();
            _penaltyCapacity = Math.Max(needed, Math.Max(1024, _penaltyCapacity * 2));
            _penaltyBuffer = _backend.Allocate(2L * _penaltyCapacity * sizeof(int));
        }
        var all = _penaltyBuffer.AsTensor(DType.I32, new Shape(2 * _penaltyCapacity));
        return (all.SliceRows(0, _penaltyCapacity), all.SliceRows(_penaltyCapacity, _penaltyCapacity));
    }

    private void DisposeSampling()
    {
        _penaltyBuffer?.Dispose();
        _penaltyBuffer = null;
    }
}
