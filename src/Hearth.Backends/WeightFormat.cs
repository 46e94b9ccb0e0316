namespace Hearth.Backends;

/// <summary>
/// How a linear layer's weight is stored; backends dispatch their matmul on it. Every quantized format is
/// described by a <see cref="QuantizedMatrix"/>, whose documentation gives each format's exact layout.
/// </summary>
public enum WeightFormat
{
    /// <summary>Plain [out, in] matrices in F32, F16 or BF16.</summary>
    Dense,

    /// <summary>
    /// Hearth's canonical packed 4-bit layout with per-group scales and zero points along the input axis;
    /// AWQ and GPTQ checkpoints are repacked into it at load (still 4 bits a weight).
    /// </summary>
    Int4Group,

    /// <summary>float8_e4m3fn weights [out, in] with one F32 scale per (BlockRows × GroupSize) block.</summary>
    Fp8Block,

    /// <summary>GGUF Q8_0: 32-weight blocks of an f16 scale and 32 int8 values (34 bytes).</summary>
    Q8_0,

    /// <summary>GGUF Q4_0: 32-weight blocks of an f16 scale and 16 bytes of 4-bit values (18 bytes).</summary>
    Q4_0,

    /// <summary>GGUF Q4_K: 256-weight super-blocks (144 bytes).</summary>
    Q4_K,

    /// <summary>GGUF Q5_K: 256-weight super-blocks (176 bytes).</summary>
    Q5_K,

    /// <summary>GGUF Q6_K: 256-weight super-blocks (210 bytes).</summary>
    Q6_K,

    /// <summary>Only as <see cref="LinearWeight.Format"/>: fused parts in different formats (GGUF Q4_K_M's q|k|v).</summary>
    Mixed,
}
