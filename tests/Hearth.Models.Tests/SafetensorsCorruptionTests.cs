using Hearth.Core;
using Hearth.Models.Safetensors;
using Hearth.Models.Tests.Support;

namespace Hearth.Models.Tests;

/// <summary>Every way a file can be broken ends in one clear HearthException naming the file and the problem.</summary>
public sealed class SafetensorsCorruptionTests
{
    private static HearthException OpenFails(string path)
    {
        var ex = Assert.Throws<HearthException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(path, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        return ex;
    }

    private static string WriteRaw(TempDirectory dir, string header, int dataBytes, ulong? declaredSize = null)
    {
        string path = dir.File("bad.safetensors");
        RawSafetensors.WriteRaw(path, header, new byte[dataBytes], declaredSize);
        return path;
    }

    [Fact]
    public void Truncated_data_section()
    {
        using var dir = new TempDirectory();
        string path = dir.File("model.safetensors");
        SafetensorsWriter.Write(path, [new SafetensorsEntry("w", DType.F32, [4, 4], new byte[64])]);
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length - 10);
        var ex = OpenFails(path);
        Assert.Contains("'w'", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void File_shorter_than_the_size_prefix()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("3 bytes", OpenFails(path).Message);
        File.WriteAllBytes(path, []);
        Assert.Contains("0 bytes", OpenFails(path).Message);
    }

    [Fact]
    public void Header_size_past_end_of_file()
    {
        using var dir = new TempDirectory();
        string path = WriteRaw(dir, "{}", 0, declaredSize: 4096);
        Assert.Contains("header size 4096", OpenFails(path).Message);
        path = WriteRaw(dir, "{}", 0, declaredSize: ulong.MaxValue);
        Assert.Contains("runs past the end", OpenFails(path).Message);
    }

    [Fact]
    public void Header_that_is_not_json()
    {
        using var dir = new TempDirectory();
        Assert.Contains("not valid JSON", OpenFails(WriteRaw(dir, "{\"w\": {\"dtype\": ", 0)).Message);
        Assert.Contains("not a JSON object", OpenFails(WriteRaw(dir, "[1, 2]  ", 0)).Message);
    }

    [Fact]
    public void Offsets_outside_the_data_section()
    {
        using var dir = new TempDirectory();
        string path = WriteRaw(dir, """{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 12);
        var ex = OpenFails(path);
        Assert.Contains("[8, 16]", ex.Message);
        Assert.Contains("12-byte data section", ex.Message);
        Assert.Contains("outside", OpenFails(WriteRaw(dir, """{"w":{"dtype":"U8","shape":[0],"data_offsets":[5,4]}}""", 8)).Message);
    }

    [Fact]
    public void Overlapping_offsets()
    {
        using var dir = new TempDirectory();
        string path = WriteRaw(dir,
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12);
        var ex = OpenFails(path);
        Assert.Contains("overlap", ex.Message);
        Assert.Contains("'a'", ex.Message);
        Assert.Contains("'b'", ex.Message);
    }

    [Fact]
    public void Byte_length_that_does_not_match_dtype_and_shape()
    {
        using var dir = new TempDirectory();
        var ex = OpenFails(WriteRaw(dir, """{"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}}""", 8));
        Assert.Contains("spans 8 bytes", ex.Message);
        Assert.Contains("needs 6", ex.Message);
    }

    [Fact]
    public void Unknown_dtype_name()
    {
        using var dir = new TempDirectory();
        var ex = OpenFails(WriteRaw(dir, """{"w":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,2]}}""", 2));
        Assert.Contains("unknown dtype 'Q4_K'", ex.Message);
        Assert.Contains("BF16", ex.Message);
    }

    [Fact]
    public void Rank_above_four()
    {
        using var dir = new TempDirectory();
        var ex = OpenFails(WriteRaw(dir, """{"w":{"dtype":"U8","shape":[1,1,1,1,2],"data_offsets":[0,2]}}""", 2));
        Assert.Contains("rank 5", ex.Message);
    }

    [Fact]
    public void Malformed_entries()
    {
        using var dir = new TempDirectory();
        Assert.Contains("no 'shape'", OpenFails(WriteRaw(dir, """{"w":{"dtype":"U8","data_offsets":[0,2]}}""", 2)).Message);
        Assert.Contains("[begin, end]", OpenFails(WriteRaw(dir, """{"w":{"dtype":"U8","shape":[2],"data_offsets":[0]}}""", 2)).Message);
        Assert.Contains("non-integer", OpenFails(WriteRaw(dir, """{"w":{"dtype":"U8","shape":[2.5],"data_offsets":[0,2]}}""", 2)).Message);
        Assert.Contains("out of range", OpenFails(WriteRaw(dir, """{"w":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}}""", 2)).Message);
        Assert.Contains("__metadata__", OpenFails(WriteRaw(dir, """{"__metadata__":{"n":1}}""", 0)).Message);
    }

    [Fact]
    public void Index_pointing_at_a_missing_shard_or_tensor()
    {
        using var dir = new TempDirectory();
        SafetensorsWriter.WriteSharded(dir.Path, [new SafetensorsEntry("w", DType.U8, [2], new byte[2])], 100);
        string index = dir.File("model.safetensors.index.json");
        File.WriteAllText(index, """{"weight_map": {"w": "model-00001-of-00001.safetensors", "v": "model-00001-of-00001.safetensors"}}""");
        var ex = Assert.Throws<HearthException>(() => SafetensorsStore.Open(dir.Path));
        Assert.Contains("'v'", ex.Message);
        Assert.Contains("does not contain it", ex.Message);

        File.WriteAllText(index, """{"weight_map": {"w": "model-00009-of-00009.safetensors"}}""");
        ex = Assert.Throws<HearthException>(() => SafetensorsStore.Open(dir.Path));
        Assert.Contains("model-00009-of-00009.safetensors, which does not exist", ex.Message);

        File.WriteAllText(index, """{"weight_map": {"w": "../elsewhere.safetensors"}}""");
        Assert.Contains("same folder", Assert.Throws<HearthException>(() => SafetensorsStore.Open(dir.Path)).Message);

        File.WriteAllText(index, "{\"weight_map\": ");
        Assert.Contains("invalid JSON", Assert.Throws<HearthException>(() => SafetensorsStore.Open(dir.Path)).Message);
    }

    [Fact]
    public void Missing_file_or_folder()
    {
        using var dir = new TempDirectory();
        foreach (string path in new[] { dir.File("absent.safetensors"), Path.Combine(dir.Path, "no-dir", "x.safetensors") })
            Assert.Equal($"{path} not found", Assert.Throws<HearthException>(() => SafetensorsFile.Open(path)).Message);
    }

    [Fact]
    public void Folder_without_safetensors()
    {
        using var dir = new TempDirectory();
        var ex = Assert.Throws<HearthException>(() => SafetensorsStore.Open(dir.Path));
        Assert.Contains(dir.Path, ex.Message);
        Assert.Contains("model.safetensors", ex.Message);
    }
}
