using Hearth.Core;

namespace Hearth.Models.Safetensors;

/// <summary>A tensor to write: its raw little-endian bytes, row-major, with the dtype and shape they have.</summary>
public sealed record SafetensorsEntry(string Name, DType DType, IReadOnlyList<long> Shape, ReadOnlyMemory<byte> Data)
{
    public long NumElements
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n = checked(n * d);
            return n;
        }
    }
}
