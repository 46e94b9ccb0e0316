using System.Reflection;
using System.Runtime.InteropServices;

namespace Hearth.Backends.Cuda.Interop;

/// <summary>
/// Finds the CUDA driver, NVRTC and cuBLASLt at run time. The toolkit's sonames carry the major version
/// (12 or 13) and are often outside the loader's path, so the P/Invoke names below are logical names that
/// this resolver maps to whichever versioned file loads first.
/// </summary>
internal static class NativeLibraries
{
    public const string Driver = "hearth-cuda-driver";
    public const string Nvrtc = "hearth-cuda-nvrtc";
    public const string CublasLt = "hearth-cuda-cublaslt";

    private static readonly string[] ToolkitDirectories = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"];
    private static readonly object Gate = new();
    private static readonly Dictionary<string, nint> Loaded = new(StringComparer.Ordinal);
    private static bool _resolverInstalled;

    /// <summary>Loads one of the libraries; on failure says which files were tried.</summary>
    public static bool TryLoad(string logicalName, out string whyNot)
    {
        lock (Gate)
        {
            InstallResolver();
            if (Loaded.ContainsKey(logicalName)) { whyNot = ""; return true; }
            var (display, candidates) = Candidates(logicalName);
            foreach (var candidate in candidates)
            {
                if (NativeLibrary.TryLoad(candidate, out nint handle))
                {
                    Loaded[logicalName] = handle;
                    whyNot = "";
                    return true;
                }
            }
            whyNot = $"{display} not found (tried {string.Join(", ", candidates)})";
            return false;
        }
    }

    private static (string Display, string[] Candidates) Candidates(string logicalName)
    {
        string[] names = logicalName switch
        {
            Driver => ["libcuda.so.1", "libcuda.so"],
            Nvrtc => ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"],
            CublasLt => ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"],
            _ => throw new ArgumentOutOfRangeException(nameof(logicalName), logicalName, "unknown CUDA library"),
        };
        string display = logicalName switch
        {
            Driver => "the NVIDIA driver library libcuda.so.1",
            Nvrtc => "the CUDA runtime compiler NVRTC (libnvrtc.so.12/13, CUDA toolkit)",
            _ => "cuBLASLt (libcublasLt.so.12/13, CUDA toolkit)",
        };
        var all = new List<string>(names);
        if (logicalName != Driver)
        {
            foreach (var dir in ToolkitDirectories)
                foreach (var name in names) all.Add(Path.Combine(dir, name));
        }
        return (display, all.ToArray());
    }

    private static void InstallResolver()
    {
        if (_resolverInstalled) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
        _resolverInstalled = true;
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        lock (Gate)
        {
            return Loaded.TryGetValue(libraryName, out nint handle) ? handle : 0;
        }
    }
}
