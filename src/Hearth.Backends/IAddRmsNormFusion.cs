namespace Hearth.Backends;

/// <summary>
/// A backend that splits a residual add + RMSNorm over the two linears around it, so that no norm launch stands
/// between them (the CUDA backend at batch 1). The producer linear (o, down) adds its output to the residual in place
/// and leaves per-block sums of squares of the new residual; the consumer linear (q|k|v, gate|up) turns those into the
/// norm and normalizes its input as it reads the residual. Together they equal <see cref="IBackend.Linear"/>,
/// <see cref="IBackend.AddRmsNorm"/> and the consumer's linear, except that the sum of squares is added in another order.
/// </summary>
public interface IAddRmsNormFusion
{
    /// <summary>Whether a batch of <paramref name="rows"/> rows through this weight can play <paramref name="role"/>.</summary>
    bool FoldsAddRmsNorm(LinearWeight weight, int rows, NormFoldRole role);

    /// <summary>Elements of the F32 sums-of-squares buffer a producer of <paramref name="hidden"/> outputs writes.</summary>
    int NormFoldSumsLength(int hidden);

    /// <summary>output = input · Wᵀ [1, hidden]; then residual += output (rounded as AddRmsNorm rounds it) and sumSquares.</summary>
    void LinearAddResidual(Tensor input, LinearWeight weight, Tensor output, Tensor residual, Tensor sumSquares);

    /// <summary>output = (RMSNorm(residual) · normWeight) · Wᵀ, the norm's scale from a producer's sumSquares.</summary>
    void NormedLinear(Tensor residual, Tensor sumSquares, Tensor normWeight, float epsilon, LinearWeight weight, Tensor output);

    /// <summary>As <see cref="NormedLinear"/> into <see cref="IBackend.LinearSiluMul"/> (gateUp may be left unwritten).</summary>
    void NormedLinearSiluMul(Tensor residual, Tensor sumSquares, Tensor normWeight, float epsilon, LinearWeight gateUpWeight, Tensor gateUp, Tensor output);
}
