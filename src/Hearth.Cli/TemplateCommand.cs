using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Core;
using Hearth.Tokenization;
using Hearth.Tokenization.Chat;

namespace Hearth.Cli;

/// <summary>
/// `hearth template --model DIR --request F`: prints exactly the prompt that the model's chat template
/// renders from an OpenAI-style request (messages, tools, add_generation_prompt, chat_template_kwargs).
/// </summary>
internal static class TemplateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Model folder with tokenizer_config.json", Required = true };
        var request = new Option<string>("--request") { Description = "JSON file with an OpenAI-style chat request", Required = true };
        var command = new Command("template", "Print the prompt rendered from a chat request");
        command.Options.Add(model);
        command.Options.Add(request);
        command.SetAction(parse =>
        {
            var tokenizer = ModelPaths.LoadTokenizer(parse.GetValue(model)!);
            var json = File.ReadAllText(ModelPaths.RequireFile(parse.GetValue(request)!, "request file"), Encoding.UTF8);
            var prompt = Render(ChatPromptBuilder.FromTokenizer(tokenizer), json);
            // The prompt is written byte for byte: no newline is added, whatever the console encoding.
            using var stdout = Console.OpenStandardOutput();
            stdout.Write(Encoding.UTF8.GetBytes(prompt));
            return 0;
        });
        return command;
    }

    public static string Render(ChatPromptBuilder builder, string requestJson)
    {
        var root = JsonNode.Parse(requestJson) as JsonObject ?? throw new HearthException("the request must be a JSON object");
        var messages = root["messages"] as JsonArray ?? throw new HearthException("the request has no 'messages' array");
        var tools = root["tools"] switch
        {
            null => null,
            JsonArray array => array,
            _ => throw new HearthException("'tools' must be an array"),
        };
        bool addGenerationPrompt = root["add_generation_prompt"] switch
        {
            null => true,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            _ => throw new HearthException("'add_generation_prompt' must be true or false"),
        };
        var kwargs = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        switch (root["chat_template_kwargs"])
        {
            case null:
                break;
            case JsonObject obj:
                foreach (var (key, value) in obj) kwargs[key] = value?.DeepClone();
                break;
            default:
                throw new HearthException("'chat_template_kwargs' must be an object");
        }
        return builder.Render(messages, tools, addGenerationPrompt, kwargs);
    }
}
