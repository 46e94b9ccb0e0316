namespace Hearth.Backends;

/// <summary>
/// A backend that can fold a residual add + RMSNorm into the linear that consumes it (the CUDA backend at batch 1):
/// residualOut = residualIn + delta (rounded to the activation type), x = RMSNorm(residualOut) · normWeight, then the
/// linear of x, with no norm launch between the two GEMVs. residualOut must not alias residualIn (every block of the
/// fused launch reads residualIn while one writes residualOut), so a model that folds keeps its residual stream in two
/// buffers. The result equals <see cref="IBackend.AddRmsNorm"/> (in place on a copy of residualIn) then the linear.
/// </summary>
public interface IAddRmsNormFusion
{
    /// <summary>Whether <paramref name="rows"/> rows through this weight (gate|up with SiLU·mul when <paramref name="siluMul"/>) fold.</summary>
    bool FoldsAddRmsNorm(LinearWeight weight, int rows, bool siluMul);

    /// <summary>The folded add + RMSNorm, then <see cref="IBackend.Linear"/> into output [rows, outFeatures].</summary>
    void AddRmsNormLinear(Tensor residualIn, Tensor delta, Tensor normWeight, float epsilon, Tensor residualOut, LinearWeight weight, Tensor output);

    /// <summary>The folded add + RMSNorm, then <see cref="IBackend.LinearSiluMul"/> (gateUp is left unwritten when the kernel fuses SiLU·mul).</summary>
    void AddRmsNormLinearSiluMul(Tensor residualIn, Tensor delta, Tensor normWeight, float epsilon, Tensor residualOut, LinearWeight gateUpWeight,
        Tensor gateUp, Tensor output);
}
