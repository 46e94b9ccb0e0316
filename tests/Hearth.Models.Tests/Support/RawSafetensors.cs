using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Hearth.Models.Tests.Support;

/// <summary>
/// Test-side, independent access to safetensors bytes with plain file I/O, so reader tests do not check the
/// reader against itself; and hand-built files for corruption tests.
/// </summary>
internal static class RawSafetensors
{
    /// <summary>The absolute file offset and byte length of a tensor, read from the header with plain I/O.</summary>
    public static (long Offset, long Length) Locate(string path, string tensor)
    {
        using var stream = File.OpenRead(path);
        Span<byte> prefix = stackalloc byte[8];
        stream.ReadExactly(prefix);
        long headerBytes = (long)BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        var header = new byte[headerBytes];
        stream.ReadExactly(header);
        using var doc = JsonDocument.Parse(header);
        var offsets = doc.RootElement.GetProperty(tensor).GetProperty("data_offsets");
        long begin = offsets[0].GetInt64(), end = offsets[1].GetInt64();
        return (8 + headerBytes + begin, end - begin);
    }

    public static byte[] ReadBytes(string path, long offset, int count)
    {
        using var stream = File.OpenRead(path);
        stream.Seek(offset, SeekOrigin.Begin);
        var bytes = new byte[count];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Writes a file from a literal header string (unpadded unless the caller pads) and a data section.</summary>
    public static void WriteRaw(string path, string headerJson, byte[] data, ulong? declaredHeaderSize = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerJson);
        using var stream = File.Create(path);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, declaredHeaderSize ?? (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        stream.Write(data);
    }
}
