using Hearth.Backends;
using Hearth.Backends.Cpu;
using Hearth.Models.Quantization;
using Hearth.Models.Qwen3;
using Hearth.Models.Tests.Support;
using Hearth.Testing;

namespace Hearth.Models.Tests.Quantization;

public class QuantizedQwen3WeightsTests
{
    [Theory]
    [InlineData("awq-int4", WeightFormat.Int4Group)]
    [InlineData("gptq-int4", WeightFormat.Int4Group)]
    [InlineData("fp8", WeightFormat.Fp8Block)]
    public void Projections_bind_quantized_and_embeddings_norms_lm_head_stay_dense(string format, WeightFormat expected)
    {
        using var temp = new TempDirectory();
        using (var source = ModelCheckpoint.Open(RepoPaths.Parrot))
            ModelQuantizers.Find(format).Quantize(source, temp.Path, progress: null);
        using var checkpoint = ModelCheckpoint.Open(temp.Path);
        using var backend = new CpuBackend(1);
        using var weights = Qwen3Weights.Load(checkpoint, backend);

        Assert.NotNull(weights.Quantization);
        Assert.Equal(Hearth.Core.DType.BF16, weights.DType);
        foreach (var layer in weights.Layers)
        {
            foreach (var linear in new[] { layer.Qkv, layer.O, layer.GateUp, layer.Down })
            {
                Assert.Equal(expected, linear.Format);
                Assert.All(linear.QuantizedParts, p => Assert.Equal(expected, p.Format));
            }
            Assert.Equal(3, layer.Qkv.QuantizedParts.Count);
            Assert.Equal(2, layer.GateUp.QuantizedParts.Count);
        }
        // Tied lm_head: the bf16 embedding table itself, not a quantized copy.
        Assert.Equal(WeightFormat.Dense, weights.LmHead.Format);
        Assert.Equal(weights.Embedding.Data, weights.LmHead.Parts[0].Data);
        if (expected == WeightFormat.Fp8Block)
        {
            // FP8 weights are used in place, zero-copy from the mapping.
            Assert.Equal(checkpoint.GetTensor("model.layers.1.mlp.down_proj.weight").Data, weights.Layers[1].Down.QuantizedParts[0].Data.Data);
        }
    }
}
