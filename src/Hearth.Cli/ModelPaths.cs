using Hearth.Core;

namespace Hearth.Cli;

/// <summary>Checks a --model folder before anything is loaded from it, so the error names what is missing.</summary>
internal static class ModelPaths
{
    public static string RequireDirectory(string path)
    {
        if (!Directory.Exists(path)) throw new HearthException($"model folder not found: {path}");
        return Path.GetFullPath(path);
    }

    public static string RequireFile(string path, string what)
    {
        if (!File.Exists(path)) throw new HearthException($"{what} not found: {path}");
        return path;
    }
}
