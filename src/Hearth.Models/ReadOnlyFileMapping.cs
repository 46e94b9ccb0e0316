using System.IO.MemoryMappedFiles;
using Hearth.Core;

namespace Hearth.Models;

/// <summary>
/// A whole file mapped read-only with its pointer acquired: the one owner of the mapping behind a checkpoint
/// reader (safetensors, GGUF), whose tensor views point into it. Dispose releases the pointer, the view and the
/// mapping; no finalizer.
/// </summary>
internal sealed unsafe class ReadOnlyFileMapping : IDisposable
{
    private readonly MemoryMappedFile _mapping;
    private readonly MemoryMappedViewAccessor _view;

    private ReadOnlyFileMapping(MemoryMappedFile mapping, MemoryMappedViewAccessor view, byte* pointer, long lengthBytes)
    {
        _mapping = mapping;
        _view = view;
        Pointer = pointer;
        LengthBytes = lengthBytes;
    }

    /// <summary>The first byte of the file; null once disposed.</summary>
    public byte* Pointer { get; private set; }

    public long LengthBytes { get; }

    /// <summary>The file's size, for a reader's own checks before mapping; a missing file is a one-line error.</summary>
    public static long LengthOf(string path)
    {
        try
        {
            return new FileInfo(path).Length;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new HearthException($"{path} not found");
        }
    }

    /// <summary>Maps the file (of lengthBytes, from <see cref="LengthOf"/>, not empty).</summary>
    public static ReadOnlyFileMapping Map(string path, long lengthBytes)
    {
        var mapping = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = mapping.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new ReadOnlyFileMapping(mapping, view, pointer + view.PointerOffset, lengthBytes);
        }
        catch
        {
            view?.Dispose();
            mapping.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (Pointer == null) return;
        Pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _mapping.Dispose();
    }
}
