using Hearth.Core;
using Hearth.Core.Config;

namespace Hearth.Models.Config;

/// <summary>Reads <c>generation_config.json</c>; the file is optional and its absence means no recommendations.</summary>
public static class GenerationConfigParser
{
    public const string FileName = "generation_config.json";

    /// <summary>Returns <see cref="GenerationConfig.Empty"/> when the file does not exist.</summary>
    public static GenerationConfig LoadOrDefault(string path) =>
        File.Exists(path) ? Parse(File.ReadAllText(path), path) : GenerationConfig.Empty;

    public static GenerationConfig Parse(string json, string source = FileName)
    {
        using var document = JsonFields.ParseDocument(json, source);
        var fields = new JsonFields(document.RootElement, source);
        return new GenerationConfig
        {
            EosTokenIds = fields.IntOrList("eos_token_id"),
            BosTokenId = fields.Int("bos_token_id"),
            PadTokenId = fields.Int("pad_token_id"),
            DoSample = fields.Bool("do_sample"),
            Temperature = fields.Double("temperature"),
            TopK = fields.Int("top_k"),
            TopP = fields.Double("top_p"),
            MinP = fields.Double("min_p"),
            RepetitionPenalty = fields.Double("repetition_penalty"),
            MaxNewTokens = fields.Int("max_new_tokens"),
        };
    }
}
