namespace Hearth.Models.Gguf;

/// <summary>The GGUF mixes <see cref="GgufConverter"/> writes (llama.cpp's general.file_type numbering).</summary>
public enum GgufFileType
{
    /// <summary>Every matrix Q8_0; norms and biases F32.</summary>
    Q8_0 = 7,

    /// <summary>
    /// llama.cpp's Q4_K_M mix: Q4_K for most matrices; Q6_K for the output matrix (the token embedding when tied)
    /// and for attn_v and ffn_down in the first and last eighth of the layers and every third layer between.
    /// </summary>
    Q4_K_M = 15,
}
