namespace Hearth.Backends.Cuda;

/// <summary>The GPU layouts quantized weights are repacked into; see <see cref="CudaQuantLayout"/>.</summary>
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

    /// <summary>GGUF Q4_K at 0.578 byte a weight: G4's 4-bit tiles, the file's 6-bit scale and min per 32 as bytes, f16 d and dmin per 256 (<see cref="CudaQuantK4"/>).</summary>
    K4,
}
