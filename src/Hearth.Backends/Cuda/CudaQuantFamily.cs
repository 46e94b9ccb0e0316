namespace Hearth.Backends.Cuda;

/// <summary>The four GPU layouts quantized weights are repacked into; see <see cref="CudaQuantLayout"/>.</summary>
internal enum CudaQuantFamily
{
    /// <summary>4-bit values in 32-weight chunks with an f16 (scale, offset) per group.</summary>
    G4,

    /// <summary>Signed 8-bit values with an f16 (scale, offset) per group.</summary>
    G8,

    /// <summary>e4m3 values with F32 block scales.</summary>
    F8,

    /// <summary>GGUF Q6_K kept at its 6.56 bits a weight: a 4-bit plane, a 2-bit plane, int8 scales per 16 and one f16 per 256 (<see cref="CudaQuantG6"/>).</summary>
    G6,
}
