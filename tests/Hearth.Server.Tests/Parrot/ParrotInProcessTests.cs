using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hearth.Server.Hosting;
using Hearth.Server.Tests.Http;
using Hearth.Testing;
using Microsoft.AspNetCore.TestHost;
using OpenAI;
using OpenAI.Chat;

#pragma warning disable SCME0001 // Patch is how this client sends vLLM-style extra fields such as chat_template_kwargs.

namespace Hearth.Server.Tests.Parrot;

/// <summary>
/// The parrot served in-process through ASP.NET Core's in-memory TestServer (no sockets), and over real HTTP to
/// the official OpenAI .NET client: two more ways a user's client meets the same engine.
/// </summary>
[Collection(ParrotServerCollection.Name)]
public sealed class ParrotInProcessTests(ParrotServer parrot)
{
    [Fact]
    public async Task EveryCaseMatchesThroughTheInMemoryTestServer()
    {
        await using var host = HearthServerHost.Load(new ServeSettings
        {
            ModelDirectory = RepoPaths.Parrot, Port = 0, ServedModelName = ParrotServer.ModelName, MaxModelLen = 2048, MaxNumSeqs = 16,
        }, configureWebHost: web => web.UseTestServer());
        await host.App.StartAsync();
        using var client = host.App.GetTestClient();
        foreach (var id in ParrotCases.AllIds())
        {
            var c = ParrotCases.Get(id);
            foreach (var stream in new[] { false, true })
            {
                using var response = await client.PostAsync("/v1/chat/completions",
                    new StringContent(ParrotCases.ChatRequest(c, stream).ToJsonString(), Encoding.UTF8, "application/json"));
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, body);
                if (stream)
                {
                    var (reasoning, content, calls, finish) = StreamedChat.Assemble(Sse.Parse(body));
                    ParrotCases.AssertMatches(c, reasoning, content, calls, finish);
                }
                else
                {
                    var choice = HttpHelpers.Json(body)["choices"]![0]!;
                    var message = choice["message"]!;
                    var calls = (message["tool_calls"]?.AsArray() ?? [])
                        .Select(t => ((string)t!["function"]!["name"]!, JsonNode.Parse((string)t["function"]!["arguments"]!))).ToList();
                    ParrotCases.AssertMatches(c, (string?)message["reasoning_content"], (string?)message["content"], calls, (string)choice["finish_reason"]!);
                }
            }
        }
    }

    [Fact]
    public async Task TheOfficialOpenAiClientGetsTheParrotsAnswersAndToolCalls()
    {
        var client = new ChatClient(ParrotServer.ModelName, new ApiKeyCredential("unused"),
            new OpenAIClientOptions { Endpoint = new Uri(parrot.Client.BaseAddress!, "/v1") });

        var options = new ChatCompletionOptions { Temperature = 0 };
        options.Patch.Set("$.chat_template_kwargs.enable_thinking"u8, false);
        ChatCompletion capital = await client.CompleteChatAsync([new UserChatMessage("What is the capital of France?")], options);
        Assert.Equal("The capital of France is Paris.", capital.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, capital.FinishReason);

        var c = ParrotCases.Get("weather-call");
        var tool = c["request"]!["tools"]![0]!["function"]!;
        var withTools = new ChatCompletionOptions
        {
            Temperature = 0,
            Tools = { ChatTool.CreateFunctionTool((string)tool["name"]!, (string?)tool["description"], BinaryData.FromString(tool["parameters"]!.ToJsonString())) },
        };
        foreach (var extra in c["request"]!["tools"]!.AsArray().Skip(1))
        {
            var f = extra!["function"]!;
            withTools.Tools.Add(ChatTool.CreateFunctionTool((string)f["name"]!, (string?)f["description"], BinaryData.FromString(f["parameters"]!.ToJsonString())));
        }
        if (c["request"]!["enable_thinking"] is JsonValue thinking)
            withTools.Patch.Set("$.chat_template_kwargs.enable_thinking"u8, (bool)thinking);
        var userText = (string)c["request"]!["messages"]![0]!["content"]!;
        var updates = new List<StreamingChatToolCallUpdate>();
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(userText)], withTools))
        {
            updates.AddRange(update.ToolCallUpdates);
            finish ??= update.FinishReason;
        }
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        var expected = c["expected"]!["tool_calls"]![0]!;
        Assert.Equal((string)expected["name"]!, updates.First(u => u.FunctionName is not null).FunctionName);
        var arguments = string.Concat(updates.Select(u => u.FunctionArgumentsUpdate?.ToString() ?? ""));
        Assert.True(JsonNode.DeepEquals(expected["arguments"], JsonNode.Parse(arguments)), arguments);
    }
}
