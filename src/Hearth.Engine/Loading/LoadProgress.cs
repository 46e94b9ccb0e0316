using System.Diagnostics;
using System.Globalization;
using Hearth.Backends;
using Hearth.Backends.Cuda;

namespace Hearth.Engine.Loading;

/// <summary>
/// Progress of a model's upload to the GPU on stderr: on a terminal one line rewritten in place (at most four
/// times a second), otherwise a line at each quarter of the weights, so logs stay short; then the bytes, tensors,
/// time and the GPU memory in use. Attached by <see cref="ModelLoader"/> for the CUDA backend.
/// </summary>
public sealed class LoadProgress : IDisposable
{
    private const double RedrawSeconds = 0.25;
    private readonly TextWriter _writer;
    private readonly bool _interactive;
    private readonly long _totalBytes;
    private readonly Func<(long FreeBytes, long TotalBytes)>? _memoryInfo;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Action? _detach;
    private long _bytes;
    private int _tensors, _quartersShown;
    private double _lastDrawSeconds = double.NegativeInfinity;
    private bool _drewInPlace;

    /// <param name="totalBytes">The weights' size on disk (an estimate of what will be uploaded); 0 when unknown.</param>
    /// <param name="interactive">A terminal: redraw one line; otherwise print a line per quarter.</param>
    /// <param name="memoryInfo">The GPU's free and total bytes, for the closing line; null leaves it out.</param>
    public LoadProgress(long totalBytes, TextWriter writer, bool interactive, Func<(long FreeBytes, long TotalBytes)>? memoryInfo = null, Action? detach = null)
    {
        _totalBytes = totalBytes;
        _writer = writer;
        _interactive = interactive;
        _memoryInfo = memoryInfo;
        _detach = detach;
    }

    /// <summary>Reports to stderr while <paramref name="backend"/> (CUDA only; null otherwise) uploads the model at <paramref name="path"/>.</summary>
    public static LoadProgress? Attach(IBackend backend, string path)
    {
        if (backend is not CudaBackend cuda) return null;
        LoadProgress? progress = null;
        Action<long> observer = bytes => progress!.OnUpload(bytes);
        progress = new LoadProgress(WeightFileBytes(path), Console.Error, !Console.IsErrorRedirected, cuda.MemoryInfo, () => cuda.UploadObserver -= observer);
        cuda.UploadObserver += observer;
        return progress;
    }

    public long UploadedBytes => _bytes;

    public int UploadedTensors => _tensors;

    /// <summary>Counts one uploaded tensor of <paramref name="bytes"/> and prints when a line is due.</summary>
    public void OnUpload(long bytes)
    {
        _bytes += bytes;
        _tensors++;
        double now = _clock.Elapsed.TotalSeconds;
        if (_interactive)
        {
            if (now - _lastDrawSeconds < RedrawSeconds) return;
            _lastDrawSeconds = now;
            _writer.Write("\r" + Line() + "   ");
            _drewInPlace = true;
            return;
        }
        if (_totalBytes <= 0) return;
        int quarters = (int)Math.Min(4, 4 * _bytes / _totalBytes);
        if (quarters <= _quartersShown || quarters >= 4) return;   // the closing line reports the end
        _quartersShown = quarters;
        _writer.WriteLine(Line());
    }

    /// <summary>The closing line: what was uploaded, how long it took and the GPU memory now in use.</summary>
    public void Complete()
    {
        if (_drewInPlace) _writer.Write("\r");
        string memory = "";
        if (_memoryInfo is not null)
        {
            var (free, total) = _memoryInfo();
            memory = string.Create(CultureInfo.InvariantCulture, $"; GPU memory used {(total - free) / 1073741824.0:F2} of {total / 1073741824.0:F2} GiB");
        }
        _writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"loaded {_bytes / 1073741824.0:F2} GiB in {_tensors} tensors in {_clock.Elapsed.TotalSeconds:F1} s{memory}"));
    }

    private string Line()
    {
        string share = _totalBytes > 0 ? string.Create(CultureInfo.InvariantCulture, $" of {_totalBytes / 1073741824.0:F2} GiB ({Math.Min(100, 100.0 * _bytes / _totalBytes):F0}%)") : "";
        return string.Create(CultureInfo.InvariantCulture, $"loading weights: {_bytes / 1073741824.0:F2} GiB{share}, {_tensors} tensors, {_clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>The bytes of the weight files (safetensors in a folder, or one .gguf file); 0 when none are found.</summary>
    public static long WeightFileBytes(string path)
    {
        if (File.Exists(path)) return new FileInfo(path).Length;
        if (!Directory.Exists(path)) return 0;
        long bytes = 0;
        foreach (var file in Directory.EnumerateFiles(path, "*.safetensors")) bytes += new FileInfo(file).Length;
        foreach (var file in Directory.EnumerateFiles(path, "*.gguf")) bytes += new FileInfo(file).Length;
        return bytes;
    }

    public void Dispose() => _detach?.Invoke();
}
