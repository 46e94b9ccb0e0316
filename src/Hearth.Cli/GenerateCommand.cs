using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Core;
using Hearth.Engine;
using Hearth.Engine.Core;
using Hearth.Engine.Loading;
using Hearth.Engine.Sampling;
using Hearth.Tokenization;
using Hearth.Tokenization.Chat;

namespace Hearth.Cli;

/// <summary>`hearth generate`: runs one prompt on the CPU or a GPU and streams the text, or prints one JSON object.</summary>
internal static class GenerateCommand
{
    private const int PrefillChunkTokens = 256;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder (config.json, safetensors, tokenizer)", Required = true };
        var prompt = new Option<string?>("--prompt") { Description = "Prompt text" };
        var promptFile = new Option<string?>("--prompt-file") { Description = "UTF-8 file with the prompt text" };
        var tokensFile = new Option<string?>("--tokens-file") { Description = "JSON array of prompt token ids" };
        var chat = new Option<bool>("--chat") { Description = "Wrap the prompt as one user message in the chat template" };
        var think = new Option<bool>("--think") { Description = "With --chat: enable thinking" };
        var noThink = new Option<bool>("--no-think") { Description = "With --chat: disable thinking" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens to generate", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float?>("--temperature") { Description = "0 is greedy (default: generation_config.json)" };
        var topK = new Option<int?>("--top-k") { Description = "Keep the K likeliest tokens (default: generation_config.json)" };
        var topP = new Option<float?>("--top-p") { Description = "Nucleus sampling mass (default: generation_config.json)" };
        var seed = new Option<ulong?>("--seed") { Description = "Seed for reproducible sampling" };
        var topLogprobs = new Option<int>("--top-logprobs") { Description = "Report the K likeliest tokens at each step" };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of streaming text" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (default: all cores)" };
        var device = new DeviceOptions();

        var command = new Command("generate", "Generate text from a prompt");
        foreach (var o in new Option[] { model, prompt, promptFile, tokensFile, chat, think, noThink, maxTokens, temperature, topK, topP, seed, topLogprobs, json, threads })
            command.Options.Add(o);
        foreach (var o in device.All) command.Options.Add(o);
        command.SetAction(parse =>
        {
            int sources = (parse.GetValue(prompt) is null ? 0 : 1) + (parse.GetValue(promptFile) is null ? 0 : 1) + (parse.GetValue(tokensFile) is null ? 0 : 1);
            if (sources != 1) throw new HearthException("give exactly one of --prompt, --prompt-file or --tokens-file");
            if (parse.GetValue(think) && parse.GetValue(noThink)) throw new HearthException("--think and --no-think contradict each other");
            if (parse.GetValue(maxTokens) < 1) throw new HearthException("--max-tokens must be at least 1");

            var directory = ModelPaths.RequireDirectory(parse.GetValue(model)!);
            using var backend = device.CreateBackend(parse, parse.GetValue(threads) ?? 0);
            using var loaded = DeviceOptions.Load(directory, backend, PrefillChunkTokens, maxLogitRows: 1);
            var promptIds = PromptIds(parse, loaded.RequireTokenizer(), prompt, promptFile, tokensFile, chat, think, noThink);

            var g = loaded.Generation;
            var sampling = new SamplingParams
            {
                Temperature = parse.GetValue(temperature) ?? (g.DoSample == false ? 0f : (float)(g.Temperature ?? 1.0)),
                TopK = parse.GetValue(topK) ?? g.TopK ?? 0,
                TopP = parse.GetValue(topP) ?? (float)(g.TopP ?? 1.0),
                MinP = (float)(g.MinP ?? 0.0),
                RepetitionPenalty = (float)(g.RepetitionPenalty ?? 1.0),
                Seed = parse.GetValue(seed),
                TopLogprobs = parse.GetValue(topLogprobs),
            };
            int maxNew = parse.GetValue(maxTokens);
            var engineOptions = new EngineOptions
            {
                MaxNumSeqs = 1,
                MaxNumBatchedTokens = PrefillChunkTokens,
                MaxModelLen = Math.Min(loaded.Config.MaxPositionEmbeddings, promptIds.Length + maxNew),
                EnablePrefixCaching = false,
                KvCacheDType = device.KvCacheDTypeOf(parse),
            };
            engineOptions = BackendFactory.WithKvCacheBudget(engineOptions, backend, loaded.Config, parse.GetValue(device.GpuMemoryUtilization));
            using var core = new EngineCore(loaded, backend, engineOptions);
            // Beside the GPU load lines; on the CPU the cache is sized from host memory and stderr stays quiet.
            if (backend is Hearth.Backends.Cuda.CudaBackend) Console.Error.WriteLine(core.KvCachePlan.Describe());
            bool asJson = parse.GetValue(json);
            var request = new EngineRequest
            {
                RequestId = "generate",
                PromptTokenIds = promptIds,
                Sampling = sampling,
                MaxTokens = maxNew,
                Logprobs = asJson,
            };
            var tokens = new List<int>();
            var steps = new List<TokenLogprobs>();
            var text = new StringBuilder();
            string finishReason = "";
            var stdout = Console.Out;
            core.Add(request, output =>
            {
                tokens.AddRange(output.NewTokenIds);
                if (output.Logprobs is { } lp) steps.AddRange(lp);
                text.Append(output.TextDelta);
                if (!asJson)
                {
                    stdout.Write(output.TextDelta);
                    stdout.Flush();
                }
                if (output.FinishReason is { } reason) finishReason = reason;
            });
            while (core.Step()) { }
            if (asJson) stdout.WriteLine(ToJson(tokens, text.ToString(), steps, finishReason));
            else stdout.WriteLine();
            return 0;
        });
        return command;
    }

    private static int[] PromptIds(ParseResult parse, Tokenizer tokenizer, Option<string?> prompt, Option<string?> promptFile,
        Option<string?> tokensFile, Option<bool> chat, Option<bool> think, Option<bool> noThink)
    {
        if (parse.GetValue(tokensFile) is { } idsPath)
        {
            var ids = JsonSerializer.Deserialize(File.ReadAllText(ModelPaths.RequireFile(idsPath, "tokens file")), CliJsonContext.Default.Int32Array)
                ?? throw new HearthException("the tokens file must hold a JSON array of token ids");
            foreach (var id in ids)
                if (id < 0 || id >= tokenizer.VocabSize) throw new HearthException($"token id {id} is outside the vocabulary (0..{tokenizer.VocabSize - 1})");
            return ids;
        }
        var text = parse.GetValue(prompt) ?? File.ReadAllText(ModelPaths.RequireFile(parse.GetValue(promptFile)!, "prompt file"), Encoding.UTF8);
        if (!parse.GetValue(chat)) return tokenizer.Encode(text);

        var message = new JsonObject { ["role"] = "user", ["content"] = JsonValue.Create(text) };
        var messages = new JsonArray(message);
        var kwargs = new Dictionary<string, JsonNode?>();
        if (parse.GetValue(think)) kwargs["enable_thinking"] = true;
        if (parse.GetValue(noThink)) kwargs["enable_thinking"] = false;
        var rendered = ChatPromptBuilder.FromTokenizer(tokenizer).Render(messages, null, addGenerationPrompt: true, kwargs);
        return tokenizer.Encode(rendered);
    }

    private static string ToJson(List<int> ids, string text, List<TokenLogprobs> steps, string finishReason)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartArray("tokens");
            foreach (var id in ids) w.WriteNumberValue(id);
            w.WriteEndArray();
            w.WriteString("text", text);
            w.WriteStartArray("top_logprobs");
            foreach (var step in steps)
            {
                w.WriteStartArray();
                foreach (var alt in step.Top)
                {
                    w.WriteStartObject();
                    w.WriteNumber("id", alt.TokenId);
                    w.WriteNumber("logprob", alt.Logprob);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteString("finish_reason", finishReason);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
