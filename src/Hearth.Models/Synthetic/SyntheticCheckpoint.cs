using System.Runtime.InteropServices;
using Hearth.Core;
using Hearth.Models.Safetensors;

namespace Hearth.Models.Synthetic;

/// <summary>
/// Writes a random-weight model folder (config.json + bf16 safetensors) from a <see cref="SyntheticModelShape"/>,
/// with the exact weights the HF goldens were computed from (docs/random-models.md).
/// </summary>
public static class SyntheticCheckpoint
{
    /// <summary>
    /// Writes the model into <paramref name="directory"/>, sharded when larger than <paramref name="maxShardSizeBytes"/>;
    /// copies tokenizer.json and tokenizer_config.json from <paramref name="tokenizerDirectory"/> when given.
    /// </summary>
    public static void Write(SyntheticModelShape shape, string directory, string? tokenizerDirectory = null, long maxShardSizeBytes = 2L << 30)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), shape.ToConfigJson());
        var entries = shape.Tensors().Select(t =>
        {
            long count = t.Shape.Aggregate(1L, (a, b) => a * b);
            var bytes = new byte[checked(count * 2)];
            RandomWeights.FillBf16Parallel(shape.Seed, t.Name, t.Scale, MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan()));
            return new SafetensorsEntry(t.Name, DType.BF16, t.Shape, bytes);
        });
        SafetensorsWriter.WriteSharded(directory, entries, maxShardSizeBytes);
        if (tokenizerDirectory is null) return;
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            var source = Path.Combine(tokenizerDirectory, name);
            if (File.Exists(source)) File.Copy(source, Path.Combine(directory, name), overwrite: true);
        }
    }

    /// <summary>
    /// A folder for <paramref name="shape"/> under the user's cache, written once and reused (the write of a
    /// large model takes seconds); keyed by shape so a changed spec never reuses stale weights.
    /// </summary>
    public static string Cached(SyntheticModelShape shape, string? tokenizerDirectory = null)
    {
        var root = Environment.GetEnvironmentVariable("HEARTH_CACHE")
            ?? Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "hearth");
        var key = RandomWeights.Fnv1a64(System.Text.Encoding.UTF8.GetBytes(shape.ToString() + shape.ToConfigJson())).ToString("x16");
        var directory = Path.Combine(root, "synthetic", shape.Name + "-" + key);
        if (Directory.Exists(directory)) return directory;
        // Written aside and moved into place, so a concurrent writer or a crash never leaves a half-written model.
        var staging = directory + ".tmp-" + Guid.NewGuid().ToString("N");
        Write(shape, staging, tokenizerDirectory);
        try
        {
            Directory.Move(staging, directory);
        }
        catch (IOException) when (Directory.Exists(directory))
        {
            Directory.Delete(staging, recursive: true);
        }
        return directory;
    }
}
