using System.Globalization;
using Hearth.Core;
using Hearth.Models.Config;

namespace Hearth.Models.Quantization;

/// <summary>
/// config.json's quantization_config, checked for what Hearth can run: AWQ (4-bit, GEMM, zero points) and
/// GPTQ (4-bit, sym or asym, act-order, gptq or gptq_v2 zero convention) with groups of a multiple of 32,
/// and block FP8 (e4m3, dynamic activations). Anything else is a one-line error naming the setting.
/// </summary>
public sealed record QuantizationConfig
{
    public QuantizationMethod Method { get; init; }

    /// <summary>AWQ/GPTQ: input features per scale; -1 in GPTQ configs (one group per row) becomes 0 here.</summary>
    public int GroupSize { get; init; }

    /// <summary>AWQ zero_point, or GPTQ's sym = false.</summary>
    public bool HasZeroPoints { get; init; }

    /// <summary>GPTQ desc_act: inputs are quantized in a permuted order recorded in g_idx.</summary>
    public bool DescAct { get; init; }

    /// <summary>GPTQ checkpoint_format "gptq" (older exports) stores each zero point minus one; "gptq_v2" does not.</summary>
    public bool ZerosStoredMinusOne { get; init; }

    /// <summary>FP8 weight_block_size [rows, columns] of one scale.</summary>
    public int BlockRows { get; init; }

    public int BlockColumns { get; init; }

    /// <summary>Module names (or name fragments) left unquantized.</summary>
    public IReadOnlyList<string> ModulesNotConverted { get; init; } = [];

    /// <summary>Reads quantization_config from a config.json; null when the model is not quantized.</summary>
    public static QuantizationConfig? Load(string configPath)
    {
        if (!File.Exists(configPath)) return null;
        using var document = JsonFields.ParseDocument(File.ReadAllText(configPath), configPath);
        var root = new JsonFields(document.RootElement, configPath);
        return root.Object("quantization_config") is { } q ? Parse(q, configPath) : null;
    }

    private static QuantizationConfig Parse(JsonFields q, string source)
    {
        string method = (q.String("quant_method") ?? "").ToLowerInvariant();
        var notConverted = q.StringList("modules_to_not_convert") ?? q.StringList("ignored_layers") ?? [];
        switch (method)
        {
            case "awq":
            {
                RequireBits(q, source, "AWQ");
                string version = (q.String("version") ?? "gemm").ToLowerInvariant();
                if (version != "gemm")
                    throw new HearthException($"{source}: AWQ version '{version}' is not supported; Hearth reads AWQ GEMM checkpoints");
                return new QuantizationConfig
                {
                    Method = QuantizationMethod.Awq,
                    GroupSize = Group(q, source, "AWQ"),
                    HasZeroPoints = q.Bool("zero_point") ?? true,
                    ModulesNotConverted = notConverted,
                };
            }
            case "gptq":
            {
                RequireBits(q, source, "GPTQ");
                string format = (q.String("checkpoint_format") ?? "gptq").ToLowerInvariant();
                if (format is not ("gptq" or "gptq_v2"))
                    throw new HearthException($"{source}: GPTQ checkpoint_format '{format}' is not supported; use gptq or gptq_v2");
                return new QuantizationConfig
                {
                    Method = QuantizationMethod.Gptq,
                    GroupSize = Group(q, source, "GPTQ"),
                    HasZeroPoints = !(q.Bool("sym") ?? true),
                    DescAct = q.Bool("desc_act") ?? false,
                    ZerosStoredMinusOne = format == "gptq",
                    ModulesNotConverted = notConverted,
                };
            }
            case "fp8":
            {
                string fmt = (q.String("fmt") ?? "e4m3").ToLowerInvariant();
                if (fmt != "e4m3") throw new HearthException($"{source}: FP8 format '{fmt}' is not supported; Hearth runs e4m3 FP8");
                string activations = (q.String("activation_scheme") ?? "dynamic").ToLowerInvariant();
                if (activations != "dynamic")
                    throw new HearthException($"{source}: FP8 activation_scheme '{activations}' is not supported; Hearth runs dynamic FP8");
                if (!q.TryGet("weight_block_size", out var blocks) || blocks.ValueKind != System.Text.Json.JsonValueKind.Array
                    || blocks.GetArrayLength() != 2)
                    throw new HearthException($"{source}: FP8 without a two-number weight_block_size (per-tensor FP8) is not supported");
                int rows = blocks[0].GetInt32(), columns = blocks[1].GetInt32();
                if (rows <= 0 || columns <= 0) throw new HearthException($"{source}: FP8 weight_block_size [{rows}, {columns}] is invalid");
                return new QuantizationConfig
                {
                    Method = QuantizationMethod.Fp8,
                    BlockRows = rows,
                    BlockColumns = columns,
                    ModulesNotConverted = notConverted,
                };
            }
            default:
                throw new HearthException(
                    $"{source}: quantization method '{(method.Length == 0 ? "(none given)" : method)}' is not supported; Hearth runs awq, gptq and fp8 checkpoints and GGUF files");
        }
    }

    private static void RequireBits(JsonFields q, string source, string name)
    {
        int bits = q.Int("bits") ?? q.Int("w_bit") ?? 4;
        if (bits != 4)
            throw new HearthException(string.Create(CultureInfo.InvariantCulture, $"{source}: {bits}-bit {name} is not supported; Hearth runs 4-bit {name}"));
    }

    private static int Group(JsonFields q, string source, string name)
    {
        int group = q.Int("group_size") ?? q.Int("q_group_size") ?? 128;
        if (group == -1) return 0;
        if (group <= 0 || group % 32 != 0)
            throw new HearthException(string.Create(CultureInfo.InvariantCulture,
                $"{source}: {name} group_size {group} is not supported; it must be -1 or a multiple of 32"));
        return group;
    }

    /// <summary>Whether a module (e.g. "model.layers.0.mlp.down_proj") is listed as left unquantized.</summary>
    public bool IsNotConverted(string module)
    {
        foreach (string name in ModulesNotConverted)
            if (module == name || module.Contains(name, StringComparison.Ordinal)) return true;
        return false;
    }

    /// <summary>The quantization_config JSON object this record describes, as the published exporters write it.</summary>
    public string ToJson() => Method switch
    {
        QuantizationMethod.Awq => string.Create(CultureInfo.InvariantCulture,
            $"{{\"quant_method\": \"awq\", \"bits\": 4, \"group_size\": {GroupSize}, \"version\": \"gemm\", \"zero_point\": {Lower(HasZeroPoints)}, \"modules_to_not_convert\": null}}"),
        QuantizationMethod.Gptq => string.Create(CultureInfo.InvariantCulture,
            $"{{\"quant_method\": \"gptq\", \"bits\": 4, \"group_size\": {(GroupSize == 0 ? -1 : GroupSize)}, \"desc_act\": {Lower(DescAct)}, \"sym\": {Lower(!HasZeroPoints)}, \"checkpoint_format\": \"{(ZerosStoredMinusOne ? "gptq" : "gptq_v2")}\"}}"),
        _ => string.Create(CultureInfo.InvariantCulture,
            $"{{\"quant_method\": \"fp8\", \"fmt\": \"e4m3\", \"activation_scheme\": \"dynamic\", \"weight_block_size\": [{BlockRows}, {BlockColumns}]}}"),
    };

    private static string Lower(bool value) => value ? "true" : "false";
}
