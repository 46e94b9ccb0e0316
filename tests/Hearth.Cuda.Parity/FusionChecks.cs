using Hearth.Backends;
using Hearth.Backends.Cuda;
using Hearth.Core;

namespace Hearth.Cuda.Parity;

/// <summary>
/// gemv_silu_bf16 (IBackend.LinearSiluMul as one launch at 1-4 rows): must equal the reference's Linear then
/// SiluMul within one bf16 rounding and the unfused CUDA path bit for bit; 5 rows take the unfused path.
/// </summary>
internal static class FusionChecks
{
    public static void Run(BackendPair pair, ParityReport report, RandomData random)
    {
        var cuda = (CudaBackend)pair.Cuda;
        foreach (var (rows, k, inter) in new[] { (1, 256, 96), (2, 520, 200), (3, 64, 8), (4, 1024, 1000), (5, 256, 96) })
        {
            string name = $"gate|up linear + silu_mul rows={rows} in={k} inter={inter}";
            try
            {
                float[] x = random.Uniform((long)rows * k);
                float[] gate = random.Uniform((long)inter * k, -0.2f, 0.2f), up = random.Uniform((long)inter * k, -0.2f, 0.2f);
                float[] Run(IBackend b)
                {
                    var weight = new LinearWeight(WeightFormat.Dense,
                        [pair.Weight(b, gate, new Shape(inter, k), DType.BF16), pair.Weight(b, up, new Shape(inter, k), DType.BF16)], null);
                    var input = pair.Activation(b, x, new Shape(rows, k));
                    var gateUp = pair.Zeros(b, new Shape(rows, 2 * inter), b.ActivationDType);
                    var output = pair.Zeros(b, new Shape(rows, inter), b.ActivationDType);
                    b.LinearSiluMul(input, weight, gateUp, output);
                    return pair.Download(b, output);
                }
                var expected = Run(pair.Reference);
                cuda.FuseSiluMul = false;
                var unfused = Run(cuda);
                cuda.FuseSiluMul = true;
                var fused = Run(cuda);
                report.Compare(name + " vs reference", expected, fused, 2 * 0.0078125, 2e-3);
                int differ = Enumerable.Range(0, fused.Length).Count(i => BitConverter.SingleToInt32Bits(fused[i]) != BitConverter.SingleToInt32Bits(unfused[i]));
                report.Record(differ == 0, name + " fused = unfused bit for bit", $"{differ} of {fused.Length} values differ");
            }
            catch (Exception e)
            {
                cuda.FuseSiluMul = true;
                report.Fail(name, e);
            }
        }
    }
}
