using System.ClientModel;
using Hearth.Server.Tests.Doubles;
using OpenAI;
using OpenAI.Chat;

namespace Hearth.Server.Tests.Http;

/// <summary>The official OpenAI .NET client against the real Kestrel server.</summary>
public sealed class OpenAiClientTests
{
    private static ChatClient Client(RunningServer server, string key = "unused") =>
        new("test-model", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.Address, "/v1") });

    [Fact]
    public async Task CompleteChatReadsContentToolCallsAndUsage()
    {
        var engine = new ScriptedEngine(r => r.PromptTokenIds.Count > 200 ? ["§t0:get_weather", "§a0:{\"city\": \"Oslo\"}"] : ["Hello!"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var client = Client(server);

        ChatCompletion plain = await client.CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 0 });
        Assert.Equal("Hello!", plain.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, plain.FinishReason);
        Assert.True(plain.Usage.InputTokenCount > 0);

        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}""")) } };
        ChatCompletion called = await client.CompleteChatAsync([new UserChatMessage("weather in Oslo?")], options);
        Assert.Equal(ChatFinishReason.ToolCalls, called.FinishReason);
        var call = Assert.Single(called.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.StartsWith("call_", call.Id);
        Assert.Equal("Oslo", System.Text.Json.JsonDocument.Parse(call.FunctionArguments).RootElement.GetProperty("city").GetString());
    }

    [Fact]
    public async Task StreamingChatAssemblesTextAndToolCalls()
    {
        var engine = new ScriptedEngine(r => r.PromptTokenIds.Count > 200 ? ["§t0:get_weather", "§a0:{\"city\": ", "§a0:\"Oslo\"}"] : ["Str", "eam", "ed"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel());
        var client = Client(server);
        var text = "";
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            foreach (var part in update.ContentUpdate) text += part.Text;
        Assert.Equal("Streamed", text);

        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}""")) } };
        string? name = null, id = null;
        var arguments = "";
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("weather in Oslo?")], options))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                name ??= call.FunctionName;
                id ??= call.ToolCallId;
                arguments += call.FunctionArgumentsUpdate?.ToString();
            }
            finish ??= update.FinishReason;
        }
        Assert.Equal("get_weather", name);
        Assert.StartsWith("call_", id);
        Assert.Equal("{\"city\": \"Oslo\"}", arguments);
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Fact]
    public async Task AWrongApiKeySurfacesAsAClientError()
    {
        var engine = new ScriptedEngine(_ => ["x"]);
        await using var server = await RunningServer.StartAsync(engine, new ScriptedTextModel(),
            new Hosting.HearthServerOptions { ServedModelName = "test-model", ApiKey = "right" });
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => Client(server, "wrong").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, ex.Status);
        ChatCompletion ok = await Client(server, "right").CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.Equal("x", ok.Content[0].Text);
    }
}
