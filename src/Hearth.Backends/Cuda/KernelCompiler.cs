using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Hearth.Backends.Cuda.Interop;
using Hearth.Core;

namespace Hearth.Backends.Cuda;

/// <summary>
/// Compiles the embedded .cu sources with NVRTC for the device's exact architecture and caches the CUBIN
/// on disk, keyed by a hash of the source, the architecture and the NVRTC version, so that a second start
/// compiles nothing. Caching is best effort: an unwritable cache directory only costs compile time.
/// </summary>
internal sealed unsafe partial class KernelCompiler
{
    private const string ResourcePrefix = "Hearth.Cuda.Kernels.";
    private const string PreludeName = "common.cu";

    private readonly string _architecture;
    private readonly string _nvrtcVersion;
    private readonly string? _cacheDirectory;

    public KernelCompiler(int computeMajor, int computeMinor)
    {
        _architecture = $"sm_{computeMajor}{computeMinor}";
        int major, minor;
        Nvrtc.Check(Nvrtc.nvrtcVersion(&major, &minor), "nvrtcVersion");
        _nvrtcVersion = $"{major}.{minor}";
        _cacheDirectory = CacheDirectory();
    }

    private readonly Dictionary<string, byte[]> _prepared = new(StringComparer.Ordinal);
    private int _numCompiled, _numLoadedFromCache;

    public int NumCompiled => _numCompiled;

    public int NumLoadedFromCache => _numLoadedFromCache;

    public string Architecture => _architecture;

    public string NvrtcVersion => _nvrtcVersion;

    public string? CachePath => _cacheDirectory;

    /// <summary>
    /// Compiles the modules not in the disk cache side by side (NVRTC takes concurrent calls on distinct programs;
    /// a cold start of all modules goes from the sum of their compile times to about the longest one) and keeps
    /// them for <see cref="GetCubin"/>. <paramref name="progress"/> hears one line before and one after, and
    /// nothing when every module is cached.
    /// </summary>
    public void Prepare(IReadOnlyList<string> moduleFileNames, Action<string>? progress)
    {
        var missing = moduleFileNames.Where(f => !IsCached(f)).ToArray();
        if (missing.Length == 0) return;
        progress?.Invoke($"compiling {missing.Length} CUDA kernel modules for {_architecture} with NVRTC {_nvrtcVersion} " +
            $"(first start only; cached in {_cacheDirectory ?? "memory: no writable cache directory"}) ...");
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        var cubins = new byte[missing.Length][];
        Parallel.For(0, missing.Length, i => cubins[i] = GetCubin(missing[i]));
        for (int i = 0; i < missing.Length; i++) _prepared[missing[i]] = cubins[i];
        progress?.Invoke($"compiled {missing.Length} kernel modules in {System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds:F1} s");
    }

    private bool IsCached(string moduleFileName)
    {
        string? file = CacheFile(moduleFileName, out _);
        return file is not null && File.Exists(file);
    }

    private string? CacheFile(string moduleFileName, out string source)
    {
        source = ReadResource(PreludeName) + "\n#line 1 \"" + moduleFileName + "\"\n" + ExpandIncludes(ReadResource(moduleFileName), moduleFileName);
        string key = Hash(source + "\n" + string.Join(' ', Options()) + "\nnvrtc " + _nvrtcVersion);
        return _cacheDirectory is null ? null
            : Path.Combine(_cacheDirectory, $"{Path.GetFileNameWithoutExtension(moduleFileName)}-{_architecture}-{key[..24]}.cubin");
    }

    private string[] Options() => [$"--gpu-architecture={_architecture}", "-std=c++17", .. _defines];

    private readonly string[] _defines = DefineOptions(Environment.GetEnvironmentVariable("HEARTH_CUDA_KERNEL_DEFINES"));

    /// <summary>
    /// NVRTC -D options from HEARTH_CUDA_KERNEL_DEFINES ("NAME=VALUE NAME2 ..."), the kernels' compile-time switches
    /// for A/B runs on a GPU machine without a rebuild; they are part of each module's cache key.
    /// </summary>
    internal static string[] DefineOptions(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return [];
        var tokens = value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        foreach (string token in tokens)
            if (!DefinePattern().IsMatch(token))
                throw new HearthException($"HEARTH_CUDA_KERNEL_DEFINES: '{token}' is not NAME or NAME=VALUE (letters, digits, '_', '.', '-')");
        return tokens.Select(t => "-D" + t).ToArray();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*(=[A-Za-z0-9_.\-]+)?$")]
    private static partial System.Text.RegularExpressions.Regex DefinePattern();

    /// <summary>
    /// Returns the CUBIN of one kernel module (a file name under Cuda/Kernels), from the cache or freshly
    /// compiled; <paramref name="bypassCache"/> recompiles and overwrites a cached file the driver rejected.
    /// </summary>
    public byte[] GetCubin(string moduleFileName, bool bypassCache = false)
    {
        if (!bypassCache && _prepared.Remove(moduleFileName, out byte[]? prepared)) return prepared;
        string? cacheFile = CacheFile(moduleFileName, out string source);
        if (cacheFile is not null && !bypassCache && File.Exists(cacheFile))
        {
            try
            {
                byte[] cached = File.ReadAllBytes(cacheFile);
                if (cached.Length > 0)
                {
                    Interlocked.Increment(ref _numLoadedFromCache);
                    return cached;
                }
            }
            catch (IOException) { }
        }
        byte[] cubin = Compile(source, moduleFileName, Options());
        Interlocked.Increment(ref _numCompiled);
        if (bypassCache && _numLoadedFromCache > 0) _numLoadedFromCache--; // the rejected cached copy no longer counts
        if (cacheFile is not null) TryWrite(cacheFile, cubin);
        return cubin;
    }

    private static byte[] Compile(string source, string name, string[] options)
    {
        nint program;
        byte[] sourceBytes = Utf8Z(source), nameBytes = Utf8Z(name);
        fixed (byte* sourcePtr = sourceBytes)
        fixed (byte* namePtr = nameBytes)
            Nvrtc.Check(Nvrtc.nvrtcCreateProgram(&program, sourcePtr, namePtr, 0, null, null), "nvrtcCreateProgram");
        try
        {
            var optionHandles = new GCHandle[options.Length];
            byte** optionPtrs = stackalloc byte*[options.Length];
            for (int i = 0; i < options.Length; i++)
            {
                optionHandles[i] = GCHandle.Alloc(Utf8Z(options[i]), GCHandleType.Pinned);
                optionPtrs[i] = (byte*)optionHandles[i].AddrOfPinnedObject();
            }
            int result;
            try { result = Nvrtc.nvrtcCompileProgram(program, options.Length, optionPtrs); }
            finally { foreach (var h in optionHandles) h.Free(); }
            if (result != 0)
            {
                string log = ProgramLog(program);
                string firstError = log.Split('\n').FirstOrDefault(l => l.Contains("error", StringComparison.Ordinal))?.Trim() ?? log.Trim();
                throw new HearthException($"nvrtcCompileProgram failed for {name} ({string.Join(' ', options)}): {firstError}");
            }
            nuint size;
            Nvrtc.Check(Nvrtc.nvrtcGetCUBINSize(program, &size), "nvrtcGetCUBINSize");
            var cubin = new byte[(int)size];
            fixed (byte* cubinPtr = cubin) Nvrtc.Check(Nvrtc.nvrtcGetCUBIN(program, cubinPtr), "nvrtcGetCUBIN");
            return cubin;
        }
        finally
        {
            Nvrtc.nvrtcDestroyProgram(&program);
        }
    }

    private static string ProgramLog(nint program)
    {
        nuint size;
        if (Nvrtc.nvrtcGetProgramLogSize(program, &size) != 0 || size <= 1) return "";
        var log = new byte[(int)size];
        fixed (byte* logPtr = log)
        {
            if (Nvrtc.nvrtcGetProgramLog(program, logPtr) != 0) return "";
        }
        return Encoding.UTF8.GetString(log, 0, log.Length - 1);
    }

    /// <summary>
    /// Replaces each <c>#include "name.cuh"</c> line of a module with that embedded header (once per module), so two
    /// modules can share device functions without putting them in the prelude every module compiles.
    /// </summary>
    internal static string ExpandIncludes(string source, string moduleFileName, Func<string, string>? readHeader = null)
    {
        readHeader ??= ReadResource;
        var included = new HashSet<string>(StringComparer.Ordinal);
        var lines = source.Split('\n');
        var expanded = new StringBuilder(source.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            var match = IncludePattern().Match(lines[i]);
            if (!match.Success)
            {
                expanded.Append(lines[i]);
                if (i + 1 < lines.Length) expanded.Append('\n');
                continue;
            }
            string header = match.Groups[1].Value;
            if (included.Add(header))
                expanded.Append("#line 1 \"").Append(header).Append("\"\n").Append(readHeader(header)).Append('\n');
            expanded.Append("#line ").Append(i + 2).Append(" \"").Append(moduleFileName).Append("\"\n");
        }
        return expanded.ToString();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\s*#include\s+""([A-Za-z0-9_]+\.cuh)""\s*$")]
    private static partial System.Text.RegularExpressions.Regex IncludePattern();

    private static string ReadResource(string fileName)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourcePrefix + fileName)
            ?? throw new InvalidOperationException($"kernel source {fileName} is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static string? CacheDirectory()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("HEARTH_KERNEL_CACHE");
        string? baseDir = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(baseDir))
        {
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            baseDir = string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache");
        }
        string? dir = !string.IsNullOrEmpty(fromEnv) ? fromEnv : baseDir is null ? null : Path.Combine(baseDir, "hearth", "kernels");
        if (dir is null) return null;
        try
        {
            Directory.CreateDirectory(dir);
            return dir;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // Written to a temporary name first so that a concurrent start never reads a half-written CUBIN.
    private static void TryWrite(string path, byte[] bytes)
    {
        string temp = path + "." + Environment.ProcessId + ".tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (IOException) { }
        }
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static byte[] Utf8Z(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
