using System.Buffers.Binary;
using System.Text;
using Hearth.Backends;
using Hearth.Core;
using Hearth.Models.Safetensors;
using Hearth.Models.Tests.Support;

namespace Hearth.Models.Tests;

public sealed class SafetensorsRoundTripTests
{
    private static SafetensorsEntry Entry(string name, DType dtype, params long[] shape)
    {
        long numel = shape.Aggregate(1L, (a, b) => a * b);
        return new SafetensorsEntry(name, dtype, shape, TinyCheckpoint.Content(name, numel * dtype.ElementSizeBytes()));
    }

    private static List<SafetensorsEntry> AllDTypes() =>
    [
        Entry("a.bf16", DType.BF16, 3, 5),
        Entry("b.f16", DType.F16, 7),
        Entry("c.f32", DType.F32, 2, 3, 4),
        Entry("d.f8", DType.F8E4M3, 9, 1),
        Entry("e.i8", DType.I8, 1, 2, 3, 5),
        Entry("f.u8", DType.U8, 13),
        Entry("g.i32", DType.I32, 4, 2),
        Entry("h.i64", DType.I64, 3),
        Entry("scalar", DType.F32),
        Entry("empty", DType.BF16, 0, 4),
    ];

    private static unsafe void AssertSameContent(SafetensorsEntry expected, Tensor actual)
    {
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(Shape.FromSpan(expected.Shape.ToArray()), actual.Shape);
        var bytes = new ReadOnlySpan<byte>((void*)actual.Data, checked((int)actual.SizeBytes));
        Assert.True(bytes.SequenceEqual(expected.Data.Span), $"bytes of {expected.Name} differ");
        // Descending-size ordering keeps every tensor aligned to its element size.
        Assert.Equal(0, actual.Data % actual.DType.ElementSizeBytes());
    }

    [Fact]
    public void Single_file_round_trips_every_dtype_shape_and_metadata()
    {
        using var dir = new TempDirectory();
        var entries = AllDTypes();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcode +/<>" };
        string path = dir.File("model.safetensors");
        SafetensorsWriter.Write(path, entries, metadata);

        using var file = SafetensorsFile.Open(path);
        Assert.Equal(entries.Count, file.TensorNames.Count);
        foreach (var entry in entries) AssertSameContent(entry, file.GetTensor(entry.Name));
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("ünïcode +/<>", file.Metadata["note"]);
        Assert.Equal(0, file.DataSectionOffset % 8);
    }

    [Fact]
    public void Header_is_compact_json_padded_with_spaces_to_eight_bytes()
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.safetensors");
        SafetensorsWriter.Write(path, [Entry("w", DType.BF16, 3)]);
        byte[] bytes = File.ReadAllBytes(path);
        long headerBytes = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerBytes % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)headerBytes);
        Assert.Equal("{\"w\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]}}", header.TrimEnd(' '));
        Assert.Equal(8 + headerBytes + 6, bytes.Length);
    }

    [Fact]
    public void Reads_a_hand_built_file_with_whitespace_and_any_key_order()
    {
        using var dir = new TempDirectory();
        string path = dir.File("hand.safetensors");
        var data = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 0x80, 0x3f, 0, 0x40 };
        RawSafetensors.WriteRaw(path,
            """{ "z" : {"data_offsets": [8, 12], "shape": [2], "dtype": "BF16"}, "__metadata__": {"k": "v"}, "a": {"shape":[2,1],"dtype":"I32","data_offsets":[0,8]} }   """,
            data);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("v", file.Metadata["k"]);
        Assert.Equal(new Shape(2, 1), file.GetTensor("a").Shape);
        Assert.Equal([0x80, 0x3f, 0, 0x40], file.GetBytes("z").ToArray());
        Assert.Equal(1.0f, BFloat16Bits.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(file.GetBytes("z"))));
    }

    [Fact]
    public void Sharded_set_reads_the_same_tensors_as_a_single_file()
    {
        using var single = new TempDirectory();
        using var sharded = new TempDirectory();
        var entries = AllDTypes();
        SafetensorsWriter.Write(single.File("model.safetensors"), entries);
        var shardNames = SafetensorsWriter.WriteSharded(sharded.Path, entries, maxShardSizeBytes: 64);
        Assert.True(shardNames.Count >= 3);
        Assert.Equal("model-00001-of-" + shardNames.Count.ToString("D5", null) + ".safetensors", shardNames[0]);

        using var a = SafetensorsStore.Open(single.Path);
        using var b = SafetensorsStore.Open(sharded.Path);
        Assert.Single(a.Files);
        Assert.Equal(shardNames.Count, b.Files.Count);
        Assert.Equal(a.TensorNames.OrderBy(n => n, StringComparer.Ordinal), b.TensorNames.OrderBy(n => n, StringComparer.Ordinal));
        foreach (var entry in entries)
        {
            Assert.True(a.TryGetTensor(entry.Name, out var fromSingle));
            Assert.True(b.TryGetTensor(entry.Name, out var fromShards));
            AssertSameContent(entry, fromSingle);
            AssertSameContent(entry, fromShards);
        }
        Assert.False(b.TryGetTensor("nope", out _));
    }

    [Fact]
    public void Writer_rejects_data_that_does_not_match_dtype_and_shape()
    {
        using var dir = new TempDirectory();
        var bad = new SafetensorsEntry("w", DType.F32, [2, 2], new byte[15]);
        var ex = Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(dir.File("x.safetensors"), [bad]));
        Assert.Contains("'w'", ex.Message);
    }

    [Fact]
    public void Disposed_file_refuses_to_hand_out_views()
    {
        using var dir = new TempDirectory();
        string path = dir.File("x.safetensors");
        SafetensorsWriter.Write(path, [Entry("w", DType.F32, 2)]);
        var file = SafetensorsFile.Open(path);
        file.Dispose();
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.GetTensor("w"));
    }
}
