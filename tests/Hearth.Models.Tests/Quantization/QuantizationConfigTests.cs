using Hearth.Core;
using Hearth.Models.Quantization;
using Hearth.Models.Safetensors;
using Hearth.Models.Tests.Support;

namespace Hearth.Models.Tests.Quantization;

public class QuantizationConfigTests
{
    [Fact]
    public void Published_configs_parse()
    {
        var awq = Parse("""{"bits": 4, "group_size": 128, "modules_to_not_convert": null, "quant_method": "awq", "version": "gemm", "zero_point": true}""");
        Assert.Equal(QuantizationMethod.Awq, awq.Method);
        Assert.Equal(128, awq.GroupSize);
        Assert.True(awq.HasZeroPoints);

        var gptq = Parse("""{"bits": 4, "group_size": -1, "desc_act": true, "sym": false, "quant_method": "gptq", "checkpoint_format": "gptq_v2"}""");
        Assert.Equal(0, gptq.GroupSize);
        Assert.True(gptq.DescAct);
        Assert.True(gptq.HasZeroPoints);
        Assert.False(gptq.ZerosStoredMinusOne);
        Assert.True(Parse("""{"bits": 4, "group_size": 128, "quant_method": "gptq"}""").ZerosStoredMinusOne);

        var fp8 = Parse("""{"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128]}""");
        Assert.Equal((128, 128), (fp8.BlockRows, fp8.BlockColumns));

        foreach (var config in new[] { awq, gptq, fp8 }) Assert.Equal(config with { ModulesNotConverted = [] }, Parse(config.ToJson()) with { ModulesNotConverted = [] });
    }

    [Theory]
    [InlineData("""{"quant_method": "bitsandbytes", "load_in_4bit": true}""", "quantization method 'bitsandbytes' is not supported")]
    [InlineData("""{"quant_method": "gptq", "bits": 8, "group_size": 128}""", "8-bit GPTQ is not supported")]
    [InlineData("""{"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemv"}""", "AWQ version 'gemv' is not supported")]
    [InlineData("""{"quant_method": "awq", "bits": 4, "group_size": 100}""", "AWQ group_size 100 is not supported")]
    [InlineData("""{"quant_method": "fp8", "fmt": "e5m2", "weight_block_size": [128, 128]}""", "FP8 format 'e5m2' is not supported")]
    [InlineData("""{"quant_method": "fp8", "activation_scheme": "static"}""", "FP8 activation_scheme 'static' is not supported")]
    [InlineData("""{"quant_method": "fp8", "activation_scheme": "dynamic"}""", "per-tensor FP8")]
    public void Unsupported_settings_give_one_line_errors_naming_them(string json, string expected)
    {
        var error = Assert.Throws<HearthException>(() => Parse(json));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Tensors_that_disagree_with_the_config_are_named_with_the_expected_shape()
    {
        using var temp = new TempDirectory();
        var config = new QuantizationConfig { Method = QuantizationMethod.Awq, GroupSize = 128, HasZeroPoints = true };
        var entries = QuantizedTensorWriter.Write(QuantTestModule.Module, new float[16 * 256], 16, 256, config);
        // Written for 256 inputs, read as if config.json said 128.
        QuantTestModule.WriteFolder(temp.Path, 16, 256, config.ToJson(), entries);
        using var checkpoint = ModelCheckpoint.Open(temp.Path);
        var error = Assert.Throws<HearthException>(() =>
            QuantizedLinearReader.TryRead(checkpoint, config, QuantTestModule.Module, 16, 128, []));
        Assert.Contains("'layer.proj.qweight' has shape [256, 2], but config.json (awq, group_size 128) implies [128, 2]", error.Message);
    }

    private static QuantizationConfig Parse(string quantizationConfig)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("config.json"), $$"""{"hidden_size": 8, "quantization_config": {{quantizationConfig}}}""");
        return QuantizationConfig.Load(temp.File("config.json"))!;
    }
}
