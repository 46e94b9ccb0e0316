using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Models.Safetensors;

/// <summary>One validated header entry; offsets are relative to the start of the data section.</summary>
public readonly record struct SafetensorsTensorInfo(string Name, DType DType, Shape Shape, long DataBegin, long DataEnd)
{
    public long SizeBytes => DataEnd - DataBegin;
}
