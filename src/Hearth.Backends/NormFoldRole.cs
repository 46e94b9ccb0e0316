namespace Hearth.Backends;

/// <summary>The part a linear plays in a residual add + RMSNorm split over two linears (<see cref="IAddRmsNormFusion"/>).</summary>
public enum NormFoldRole
{
    /// <summary>Adds its output to the residual and leaves the sums of squares (o, down).</summary>
    Producer,
    /// <summary>Normalizes the residual as its input (q|k|v).</summary>
    Consumer,
    /// <summary>Normalizes the residual as its input, gate|up with SiLU·mul.</summary>
    ConsumerSiluMul,
}
