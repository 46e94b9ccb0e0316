namespace Hearth.Backends.Cuda;

/// <summary>
/// One uploaded quantized matrix in its GPU layout (<see cref="CudaQuantLayout"/>). The backend finds it from the
/// <see cref="QuantizedMatrix"/> it returned at upload by that matrix's data pointer.
/// </summary>
/// <param name="Data">G4: U8 [out, in/2]; G8: I8 [out, in]; F8: e4m3 [out, in]; G6: the 4- and 2-bit planes (CudaQuantG6); K4: G4's tiles.</param>
/// <param name="Params">G4/G8: half2 (scale, offset) [out, in/GroupSize]; F8: F32 [⌈out/BlockRows⌉, ScaleColumns]; G6: int8
/// scales and f16 d per tile and 256-k super-block (CudaQuantG6); K4: uint8 scales and mins, f16 d and dmin per tile and super-block (CudaQuantK4).</param>
/// <param name="Permutation">I32 [in] (act-order GPTQ: stored column i multiplies input perm[i]), or 0.</param>
internal sealed record CudaQuantPart(CudaQuantFamily Family, WeightFormat Format, int OutFeatures, int InFeatures, nint Data, nint Params,
    int GroupSize, int BlockRows, int ScaleColumns, nint Permutation, long SizeBytes);
