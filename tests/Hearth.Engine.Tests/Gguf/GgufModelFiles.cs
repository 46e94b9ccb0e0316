using Hearth.Models;
using Hearth.Models.Gguf;
using Hearth.Models.Synthetic;
using Hearth.Testing;

namespace Hearth.Engine.Tests.Gguf;

/// <summary>
/// GGUF files made once per test run with Hearth's converter: the parrot fixture in Q8_0 and Q4_K_M, and a random
/// model wide enough (hidden 256) for every matrix to take the K-quants, untied so output.weight exists.
/// </summary>
internal static class GgufModelFiles
{
    private static readonly Lazy<string> Root = new(() =>
    {
        string root = Path.Combine(Path.GetTempPath(), "hearth-gguf-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(root);
        return root;
    });

    private static readonly Dictionary<string, string> Made = [];

    public static SyntheticModelShape RandomShape { get; } = new(
        "gguf-k256", 0x6606, HiddenSize: 256, NumLayers: 2, NumHeads: 4, NumKvHeads: 2, HeadDim: 64,
        IntermediateSize: 512, TieWordEmbeddings: false, RopeTheta: 1000000.0, MaxPositionEmbeddings: 512, VocabSize: 2048);

    public static string RandomModelFolder => SyntheticCheckpoint.Cached(RandomShape);

    public static string Parrot(GgufFileType type) => Convert(RepoPaths.Parrot, "parrot", type);

    public static string RandomModel(GgufFileType type) => Convert(RandomModelFolder, "random", type);

    private static string Convert(string folder, string name, GgufFileType type)
    {
        lock (Made)
        {
            string key = name + "-" + type;
            if (Made.TryGetValue(key, out string? path)) return path;
            path = Path.Combine(Root.Value, key + ".gguf");
            using (var checkpoint = ModelCheckpoint.Open(folder)) GgufConverter.Convert(checkpoint, path, type);
            Made[key] = path;
            return path;
        }
    }
}
