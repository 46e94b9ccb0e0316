using System.Text.Json.Nodes;
using Hearth.Engine.Constraints;
using Hearth.Engine.Sampling;
using Hearth.Server.Hosting;
using Hearth.Tokenization.Parsing;
using Hearth.Tokenization;
using Hearth.Tokenization.Chat;

namespace Hearth.Server.Text;

/// <summary>The served model's text side: its tokenizer, its chat template and Qwen3's output parser.</summary>
public sealed class TokenizerChatTextModel : IChatTextModel
{
    private readonly Tokenizer _tokenizer;
    private readonly ChatPromptBuilder? _chat;
    private readonly string? _whyNoChat;

    public TokenizerChatTextModel(Tokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        try
        {
            _chat = ChatPromptBuilder.FromTokenizer(tokenizer);
        }
        catch (Hearth.Core.HearthException ex)
        {
            // A base model without a template still serves completions; chat requests get this reason.
            _whyNoChat = ex.Message;
        }
    }

    public int VocabSize => _tokenizer.VocabSize;

    public IReadOnlyList<int> Encode(string text) => _tokenizer.Encode(text);

    public string Decode(IReadOnlyList<int> tokenIds, bool skipSpecialTokens)
    {
        var ids = tokenIds as int[] ?? tokenIds.ToArray();
        return _tokenizer.Decode(ids, skipSpecialTokens);
    }

    public string RenderChat(JsonArray messages, JsonArray? tools, bool addGenerationPrompt, IReadOnlyDictionary<string, JsonNode?>? templateKwargs)
    {
        if (_chat is null) throw new Hearth.Core.HearthException(_whyNoChat ?? "the model has no chat template");
        return _chat.Render(messages, tools, addGenerationPrompt, templateKwargs);
    }

    public ITokenConstraint CreateJsonConstraint(string promptText)
    {
        var trie = TokenTrie.For(_tokenizer);
        int? open = _tokenizer.TokenToId("<think>"), close = _tokenizer.TokenToId("</think>");
        if (close is null) return new JsonObjectConstraint(trie);
        return ReasoningStartModes.FromPrompt(promptText) switch
        {
            ReasoningStartMode.InsideThink => new JsonObjectConstraint(trie, startsInsideThink: true, thinkCloseTokenId: close),
            ReasoningStartMode.ModelOpensThink when open is not null => new JsonObjectConstraint(trie, thinkOpenTokenId: open, thinkCloseTokenId: close),
            _ => new JsonObjectConstraint(trie),
        };
    }

    public IChatOutputParser CreateOutputParser(string promptText, bool parseToolCalls) => new Qwen3OutputParser(promptText, parseToolCalls);
}
