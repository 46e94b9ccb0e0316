using System.Text.Json;
using Hearth.Backends;
using Hearth.Core;

namespace Hearth.Models.Safetensors;

/// <summary>
/// The safetensors of one model folder: either <c>model.safetensors</c>, or the shards listed by
/// <c>model.safetensors.index.json</c>'s <c>weight_map</c>. Owns the mappings of every file it opened.
/// </summary>
public sealed class SafetensorsStore : IDisposable
{
    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, SafetensorsFile> _fileOfTensor;

    private SafetensorsStore(string directory, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> fileOfTensor)
    {
        Directory = directory;
        _files = files;
        _fileOfTensor = fileOfTensor;
    }

    public string Directory { get; }

    public IReadOnlyList<SafetensorsFile> Files => _files;

    public IReadOnlyCollection<string> TensorNames => _fileOfTensor.Keys;

    public static SafetensorsStore Open(string directory)
    {
        string indexPath = Path.Combine(directory, SafetensorsWriter.IndexFileName);
        if (File.Exists(indexPath)) return OpenSharded(directory, indexPath);
        string singlePath = Path.Combine(directory, SafetensorsWriter.SingleFileName);
        if (File.Exists(singlePath))
        {
            var file = SafetensorsFile.Open(singlePath);
            return new SafetensorsStore(directory, [file], file.TensorNames.ToDictionary(n => n, _ => file, StringComparer.Ordinal));
        }
        throw new HearthException(
            $"no {SafetensorsWriter.SingleFileName} or {SafetensorsWriter.IndexFileName} in {directory}");
    }

    private static SafetensorsStore OpenSharded(string directory, string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var files = new List<SafetensorsFile>();
        var fileOfTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            var byName = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var (tensor, fileName) in weightMap)
            {
                if (!byName.TryGetValue(fileName, out var file))
                {
                    string shardPath = Path.Combine(directory, fileName);
                    if (!File.Exists(shardPath))
                        throw new HearthException($"{indexPath} maps '{tensor}' to {fileName}, which does not exist");
                    file = SafetensorsFile.Open(shardPath);
                    files.Add(file);
                    byName.Add(fileName, file);
                }
                if (!file.TryGetInfo(tensor, out _))
                    throw new HearthException($"{indexPath} maps '{tensor}' to {fileName}, which does not contain it");
                fileOfTensor.Add(tensor, file);
            }
            return new SafetensorsStore(directory, files, fileOfTensor);
        }
        catch
        {
            foreach (var file in files) file.Dispose();
            throw;
        }
    }

    private static List<(string Tensor, string File)> ReadWeightMap(string indexPath)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
        }
        catch (JsonException ex)
        {
            throw new HearthException($"{indexPath}: invalid JSON: {ex.Message.ReplaceLineEndings(" ")}", ex);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("weight_map", out var map)
                || map.ValueKind != JsonValueKind.Object)
                throw new HearthException($"{indexPath}: no 'weight_map' object");
            var result = new List<(string, string)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                string? file = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null;
                // A shard name with a path in it would let an index point outside the model folder.
                if (string.IsNullOrEmpty(file) || file != Path.GetFileName(file))
                    throw new HearthException($"{indexPath}: weight_map entry '{entry.Name}' must name a file in the same folder");
                if (!seen.Add(entry.Name)) throw new HearthException($"{indexPath}: '{entry.Name}' appears twice in weight_map");
                result.Add((entry.Name, file));
            }
            return result;
        }
    }

    public bool TryGetTensor(string name, out Tensor tensor)
    {
        if (_fileOfTensor.TryGetValue(name, out var file)) return file.TryGetTensor(name, out tensor);
        tensor = default;
        return false;
    }

    public bool TryGetInfo(string name, out SafetensorsTensorInfo info)
    {
        if (_fileOfTensor.TryGetValue(name, out var file)) return file.TryGetInfo(name, out info);
        info = default;
        return false;
    }

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }
}
