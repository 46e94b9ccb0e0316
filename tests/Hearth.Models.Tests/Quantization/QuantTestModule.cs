using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Core;
using Hearth.Models.Quantization;
using Hearth.Models.Safetensors;

namespace Hearth.Models.Tests.Quantization;

/// <summary>
/// One quantized module "layer.proj" in a folder (config.json with quantization_config + safetensors), read
/// back through <see cref="QuantizedLinearReader"/> and multiplied on the CPU backend.
/// </summary>
internal static unsafe class QuantTestModule
{
    public const string Module = "layer.proj";

    public static void WriteFolder(string directory, int outFeatures, int inFeatures, string quantizationConfigJson,
        IEnumerable<SafetensorsEntry> entries)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"),
            $$"""{"hidden_size": {{inFeatures}}, "intermediate_size": {{outFeatures}}, "num_hidden_layers": 1, "num_attention_heads": 1, "head_dim": 32, "vocab_size": 8, "max_position_embeddings": 64, "quantization_config": {{quantizationConfigJson}}}""");
        SafetensorsWriter.Write(Path.Combine(directory, SafetensorsWriter.SingleFileName), entries);
    }

    /// <summary>Reads the module and returns y = x · Wᵀ for x [rows, in] computed by the CPU backend's kernel.</summary>
    public static float[] Multiply(string directory, int outFeatures, int inFeatures, float[] x, out QuantizedMatrix matrix)
    {
        using var checkpoint = ModelCheckpoint.Open(directory);
        var config = QuantizationConfig.Load(Path.Combine(directory, "config.json"))
            ?? throw new InvalidOperationException("no quantization_config");
        var owned = new List<DeviceBuffer>();
        try
        {
            matrix = QuantizedLinearReader.TryRead(checkpoint, config, Module, outFeatures, inFeatures, owned)
                ?? throw new InvalidOperationException("module not quantized");
            using var backend = new CpuBackend(2);
            int rows = x.Length / inFeatures;
            using var input = backend.Allocate(x.Length * sizeof(float));
            using var output = backend.Allocate((long)rows * outFeatures * sizeof(float));
            var inputTensor = input.AsTensor(DType.F32, new Shape(rows, inFeatures));
            var outputTensor = output.AsTensor(DType.F32, new Shape(rows, outFeatures));
            backend.CopyToDevice<float>(x, inputTensor);
            backend.Linear(inputTensor, LinearWeight.Quantized(backend.UploadQuantized(matrix)), outputTensor);
            var y = new float[rows * outFeatures];
            backend.CopyToHost<float>(outputTensor, y);
            return y;
        }
        finally
        {
            foreach (var buffer in owned) buffer.Dispose();
        }
    }

    /// <summary>The weights [out, in] as the CPU kernel applies them, recovered by multiplying with the identity.</summary>
    public static float[] Dequantized(string directory, int outFeatures, int inFeatures)
    {
        var identity = new float[inFeatures * inFeatures];
        for (int i = 0; i < inFeatures; i++) identity[i * inFeatures + i] = 1;
        var transposed = Multiply(directory, outFeatures, inFeatures, identity, out _); // [in, out]
        var weights = new float[outFeatures * inFeatures];
        for (int i = 0; i < inFeatures; i++)
            for (int j = 0; j < outFeatures; j++) weights[j * inFeatures + i] = transposed[i * outFeatures + j];
        return weights;
    }
}
