using Hearth.Core;

namespace Hearth.Backends.Cuda;

// SiLU·mul fused into the gate|up GEMV at decode batch sizes without changing IBackend: a two-part Linear that
// qualifies is held back, and if the very next op is SiluMul on its output, one gemv_silu_bf16 launch does both
// (one launch and the [rows, 2·inter] round trip fewer per layer). Any other op, copy, synchronization or capture
// boundary first launches the held-back GEMV as usual, so the order of work on the stream never changes.
public sealed unsafe partial class CudaBackend
{
    private nint _gemvSilu;
    private bool _hasPendingGateUp;
    private Tensor _pendingInput, _pendingOutput;
    private LinearWeight? _pendingWeight;
    private int _pendingRows;

    /// <summary>Fuse SiLU·mul into the gate|up GEMV at batch 1-4 (on by default; HEARTH_CUDA_FUSE_SILU=0 turns it off).</summary>
    public bool FuseSiluMul { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FUSE_SILU") != "0";

    /// <summary>Holds back a gate|up product that SiluMul may fuse; false when the Linear must run now.</summary>
    private bool TryDeferGateUp(Tensor input, LinearWeight weight, Tensor output, int rows)
    {
        if (!FuseSiluMul || !UseGemv || weight.IsQuantized || weight.Format != WeightFormat.Dense) return false;
        if (rows < 1 || rows > GemvMaxRows || weight.Parts.Count != 2 || weight.Bias is not null) return false;
        if (output.DType != DType.BF16 || weight.Parts[0].Shape[0] != weight.Parts[1].Shape[0]) return false;
        if (weight.InFeatures % 8 != 0 || input.Data % 16 != 0 || weight.Parts[0].Data % 16 != 0 || weight.Parts[1].Data % 16 != 0) return false;
        _pendingInput = input;
        _pendingWeight = weight;
        _pendingOutput = output;
        _pendingRows = rows;
        _hasPendingGateUp = true;
        return true;
    }

    /// <summary>Runs SiluMul fused with the held-back gate|up product when <paramref name="gateUp"/> is its output.</summary>
    private bool TryFusedSiluMul(Tensor gateUp, Tensor output)
    {
        if (!_hasPendingGateUp || gateUp.Data != _pendingOutput.Data || gateUp.NumElements != _pendingOutput.NumElements) return false;
        var weight = _pendingWeight!;
        int inter = weight.Parts[0].Shape[0];
        if (output.NumElements != (long)_pendingRows * inter) return false;
        _hasPendingGateUp = false;
        if (_gemvSilu == 0) _gemvSilu = Function("gemv_silu_bf16");
        nint wGate = weight.Parts[0].Data, wUp = weight.Parts[1].Data, x = _pendingInput.Data, outPtr = output.Data;
        int rows = _pendingRows, k = weight.InFeatures;
        void** args = stackalloc void*[] { &wGate, &wUp, &inter, &x, &rows, &k, &outPtr };
        Launch(_gemvSilu, (uint)((inter + GemvWarps - 1) / GemvWarps), 1, 32 * GemvWarps, 0, args);
        return true;
    }

    /// <summary>Launches a held-back gate|up product unfused; called before anything else touches the stream.</summary>
    private void FlushPending()
    {
        FlushPendingRope();
        if (!_hasPendingGateUp) return;
        _hasPendingGateUp = false;
        if (!TryGemv(_pendingInput, _pendingWeight!, _pendingOutput, _pendingRows))
            throw new InvalidOperationException("a held-back gate|up product no longer qualifies for the GEMV");
    }
}
