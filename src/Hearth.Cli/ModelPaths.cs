using Hearth.Core;

namespace Hearth.Cli;

/// <summary>Checks a --model folder before anything is loaded from it, so the error names what is missing.</summary>
internal static class ModelPaths
{
    public static string RequireDirectory(string path)
    {
        // A single GGUF file is a whole model too.
        if (File.Exists(path) && path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) return Path.GetFullPath(path);
        if (!Directory.Exists(path)) throw new HearthException($"model folder not found: {path}");
        return Path.GetFullPath(path);
    }

    /// <summary>The tokenizer of a model folder, or the one embedded in a .gguf file's metadata.</summary>
    public static Hearth.Tokenization.Tokenizer LoadTokenizer(string modelPath)
    {
        string path = RequireDirectory(modelPath);
        if (!File.Exists(path)) return Hearth.Tokenization.Tokenizer.Load(path);
        using var file = Hearth.Models.Gguf.GgufFile.Open(path);
        return Hearth.Engine.Loading.GgufTokenizerLoader.Load(file)
            ?? throw new HearthException($"{path} has no embedded tokenizer (tokenizer.ggml.*)");
    }

    public static string RequireFile(string path, string what)
    {
        if (!File.Exists(path)) throw new HearthException($"{what} not found: {path}");
        return path;
    }
}
