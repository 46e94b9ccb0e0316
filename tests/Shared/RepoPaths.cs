namespace Hearth.Testing;

/// <summary>Locates the repository root and the shared fixtures (../shared/fixtures beside the clone).</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string RepoRoot => Root.Value;

    /// <summary>HEARTH_FIXTURES overrides the location, e.g. on the GPU machine where ../shared does not travel.</summary>
    public static string Fixtures
    {
        get
        {
            var fromEnv = Environment.GetEnvironmentVariable("HEARTH_FIXTURES");
            if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
            return Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));
        }
    }

    public static string Parrot => Path.Combine(Fixtures, "parrot-qwen3");

    public static string Goldens => Path.Combine(Fixtures, "goldens");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hearth.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Hearth.sln not found above " + AppContext.BaseDirectory);
    }
}
