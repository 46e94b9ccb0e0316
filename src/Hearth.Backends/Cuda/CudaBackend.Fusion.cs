using Hearth.Core;

namespace Hearth.Backends.Cuda;

// IBackend.LinearSiluMul as one launch at decode batch sizes: gemv_silu_bf16 computes a gate row and its up row
// together and writes only silu(gate)·up, so the [rows, 2·inter] gate|up product never goes to memory. Shapes the
// kernel does not take run as Linear then SiluMul. Quantized gate|up weights at 1-8 rows take gemv_silu_*_stream
// (CudaBackend.QuantSilu.cs).
public sealed unsafe partial class CudaBackend
{
    private nint _gemvSilu;

    /// <summary>Fuse SiLU·mul into the gate|up GEMV at batch 1-4 (on by default; HEARTH_CUDA_FUSE_SILU=0 turns it off).</summary>
    public bool FuseSiluMul { get; set; } = Environment.GetEnvironmentVariable("HEARTH_CUDA_FUSE_SILU") != "0";

    public void LinearSiluMul(Tensor input, LinearWeight gateUpWeight, Tensor gateUp, Tensor output)
    {
        if (TryGemvSilu(input, gateUpWeight, output) || TryQuantStreamSilu(input, gateUpWeight, output)) return;
        Linear(input, gateUpWeight, gateUp);
        SiluMul(gateUp, output);
    }

    private bool TryGemvSilu(Tensor input, LinearWeight weight, Tensor output)
    {
        if (!FuseSiluMul || !UseGemv || weight.IsQuantized || weight.Format != WeightFormat.Dense || weight.DType != DType.BF16) return false;
        if (weight.Parts.Count != 2 || weight.Bias is not null || weight.Parts[0].Shape[0] != weight.Parts[1].Shape[0]) return false;
        if (input.DType != DType.BF16 || output.DType != DType.BF16) return false;
        int inter = weight.Parts[0].Shape[0], k = weight.InFeatures;
        long rowsLong = input.NumElements / k;
        if (rowsLong < 1 || rowsLong > GemvMaxRows || rowsLong * k != input.NumElements || output.NumElements != rowsLong * inter) return false;
        if (k % 8 != 0 || input.Data % 16 != 0 || weight.Parts[0].Data % 16 != 0 || weight.Parts[1].Data % 16 != 0) return false;
        if (_gemvSilu == 0) _gemvSilu = Function("gemv_silu_bf16");
        nint wGate = weight.Parts[0].Data, wUp = weight.Parts[1].Data, x = input.Data, outPtr = output.Data;
        int rows = (int)rowsLong;
        void** args = stackalloc void*[] { &wGate, &wUp, &inter, &x, &rows, &k, &outPtr };
        Launch(_gemvSilu, (uint)((inter + GemvWarps - 1) / GemvWarps), 1, 32 * GemvWarps, 0, args);
        return true;
    }
}
