using Hearth.Core;

namespace Hearth.Models.Safetensors;

/// <summary>The header dtype names this reader understands (writing uses <see cref="DTypeExtensions.SafetensorsName"/>).</summary>
internal static class SafetensorsDTypes
{
    public const string Supported = "F32, F16, BF16, F8_E4M3, I8, U8, I32, I64";

    public static bool TryParse(string name, out DType dtype)
    {
        switch (name)
        {
            case "F32": dtype = DType.F32; return true;
            case "F16": dtype = DType.F16; return true;
            case "BF16": dtype = DType.BF16; return true;
            case "F8_E4M3": dtype = DType.F8E4M3; return true;
            case "I8": dtype = DType.I8; return true;
            case "U8": dtype = DType.U8; return true;
            case "I32": dtype = DType.I32; return true;
            case "I64": dtype = DType.I64; return true;
            default: dtype = default; return false;
        }
    }
}
