using System.Buffers;
using System.Text;

namespace Hearth.Tokenization.Parsing;

/// <summary>
/// Reads Qwen3/Hermes tool calls, <c>&lt;tool_call&gt;\n{"name": …, "arguments": {…}}\n&lt;/tool_call&gt;</c>, out of a
/// streamed content text, emitting OpenAI-style deltas: <see cref="ToolCallStarted"/> once the name is complete,
/// then <see cref="ToolCallArgumentsDelta"/> pieces of the arguments' JSON text as generated. Other text is
/// <see cref="ContentDelta"/>.
/// </summary>
/// <remarks>
/// <para>Whitespace next to a call block (before <c>&lt;tool_call&gt;</c>, after <c>&lt;/tool_call&gt;</c>) is dropped,
/// so whitespace-only text between and after calls disappears; other text is content verbatim.</para>
/// <para>Each block is checked by a JSON state machine. <c>"parameters"</c> is accepted for <c>"arguments"</c>;
/// arguments given as a JSON string holding a JSON object pass through as that object's text; unknown keys with
/// valid values are ignored; a missing arguments key in a closed object means <c>{}</c>. Nothing is emitted for a
/// block until its name is known and its arguments value has started validly (an object whose first non-blank
/// character after <c>{</c> is valid) or is complete.</para>
/// <para>Malformed blocks never throw. Before anything was emitted, the whole block so far becomes content, and
/// scanning resumes at the offending character (so a following <c>&lt;tool_call&gt;</c> still counts). After the call
/// was started, its deltas cannot be taken back: the call ends with the arguments streamed so far (complete or not)
/// and the text from the offending character on is scanned again as content. The same holds at the end of generation
/// for an unclosed block: accepted if its name and arguments are complete, content if nothing was emitted, and kept
/// with truncated arguments otherwise (as OpenAI servers do when generation hits the length limit). A closing tag
/// where the outer object's last <c>}</c> should be is accepted once name and arguments are complete.</para>
/// </remarks>
public sealed class ToolCallParser
{
    private const string OpenTag = "<tool_call>";
    private const string CloseTag = "</tool_call>";
    private static readonly SearchValues<char> TextSpecials = SearchValues.Create("< \t\r\n");

    private enum BlockState
    {
        BeforeObject, FirstKeyOrEnd, Key, InKey, Colon, Value,
        InName, InArguments, InArgumentsString, InSkippedValue,
        CommaOrEnd, AfterObject, InCloseTag,
    }

    private enum KeyKind { Name, Arguments, Other }

    // Text (outside a block).
    private bool _inBlock;
    private readonly StringBuilder _heldWhitespace = new();
    private int _openMatchedChars;
    private bool _afterCall;

    // Current block; _blockText is everything after "<tool_call>", kept to replay as content.
    private BlockState _block;
    private readonly StringBuilder _blockText = new();
    private string _whitespaceBeforeBlock = string.Empty;
    private readonly JsonStringDecoder _decoder = new();
    private readonly JsonValueScanner _scanner = new();
    private KeyKind _key;
    private string? _name;
    private bool _argumentsSeen;
    private bool _argumentsComplete;
    private readonly StringBuilder _argumentsBeforeName = new();
    private bool _started;
    private int _closeMatchedChars;
    private int _closeTagStart;
    private int _callCount;

    // Output, coalesced so a chunk yields at most one event per run of the same kind.
    private List<ChatOutputEvent>? _events;
    private readonly StringBuilder _contentOut = new();
    private readonly StringBuilder _argumentsOut = new();

    // Input being scanned; text to re-scan after a malformed block is spliced in front of the unread rest.
    private string _input = string.Empty;
    private int _inputPos;
    private string? _rescan;

    public void Push(string text, List<ChatOutputEvent> events)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(events);
        _events = events;
        _input = text;
        _inputPos = 0;
        while (_inputPos < _input.Length)
        {
            if (!_inBlock && _openMatchedChars == 0 && _heldWhitespace.Length == 0)
            {
                // Fast path for plain content: copy up to the next character that could start a tag or be held.
                var rest = _input.AsSpan(_inputPos);
                int run = rest.IndexOfAny(TextSpecials);
                if (run < 0) run = rest.Length;
                if (run > 0)
                {
                    AppendContent(rest[..run]);
                    _afterCall = false;
                    _inputPos += run;
                    continue;
                }
            }
            char c = _input[_inputPos++];
            if (_inBlock) StepBlock(c);
            else StepText(c);
            if (_rescan is not null)
            {
                _input = string.Concat(_rescan, _input.AsSpan(_inputPos));
                _inputPos = 0;
                _rescan = null;
            }
        }
        _input = string.Empty;
        FlushOutput();
        _events = null;
    }

    /// <summary>Ends the stream: settles an unclosed block and releases held text.</summary>
    public void Finish(List<ChatOutputEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        _events = events;
        if (_inBlock)
        {
            if (_started) EndCall();
            else
            {
                AppendContent(_whitespaceBeforeBlock);
                AppendContent(OpenTag);
                AppendContent(_blockText.ToString());
                _inBlock = false;
                _afterCall = false;
            }
        }
        else if (_openMatchedChars > 0)
        {
            ReleaseHeldWhitespace();
            AppendContent(OpenTag.AsSpan(0, _openMatchedChars));
            _openMatchedChars = 0;
        }
        else
        {
            ReleaseHeldWhitespace();
        }
        FlushOutput();
        _events = null;
    }

    private void StepText(char c)
    {
        if (_openMatchedChars > 0)
        {
            if (c == OpenTag[_openMatchedChars])
            {
                if (++_openMatchedChars == OpenTag.Length) BeginBlock();
                return;
            }
            ReleaseHeldWhitespace();
            AppendContent(OpenTag.AsSpan(0, _openMatchedChars));
            _openMatchedChars = 0;
            _afterCall = false;
        }
        if (c == '<')
        {
            _openMatchedChars = 1;
        }
        else if (IsWhitespace(c))
        {
            _heldWhitespace.Append(c);
        }
        else
        {
            ReleaseHeldWhitespace();
            AppendContent(c);
            _afterCall = false;
        }
    }

    private void ReleaseHeldWhitespace()
    {
        if (_heldWhitespace.Length == 0) return;
        if (!_afterCall) AppendContent(_heldWhitespace.ToString());
        _heldWhitespace.Clear();
    }

    private void BeginBlock()
    {
        _whitespaceBeforeBlock = _afterCall ? string.Empty : _heldWhitespace.ToString();
        _heldWhitespace.Clear();
        _openMatchedChars = 0;
        _inBlock = true;
        _block = BlockState.BeforeObject;
        _blockText.Clear();
        _name = null;
        _argumentsSeen = false;
        _argumentsComplete = false;
        _argumentsBeforeName.Clear();
        _started = false;
        _closeMatchedChars = 0;
    }

    private void StepBlock(char c)
    {
        _blockText.Append(c);
        Dispatch(c, _blockText.Length - 1);
    }

    // blockPos: where c sits in _blockText, the point to resume scanning from if c breaks the block.
    private void Dispatch(char c, int blockPos)
    {
        switch (_block)
        {
            case BlockState.BeforeObject:
                if (IsWhitespace(c)) return;
                if (c == '{') _block = BlockState.FirstKeyOrEnd;
                else Malformed(blockPos);
                return;
            case BlockState.FirstKeyOrEnd:
                if (IsWhitespace(c)) return;
                if (c == '}') CloseObject(blockPos);
                else StartKey(c, blockPos);
                return;
            case BlockState.Key:
                if (!IsWhitespace(c)) StartKey(c, blockPos);
                return;
            case BlockState.InKey:
                var keyStep = _decoder.Feed(c);
                if (keyStep == JsonStep.Error) Malformed(blockPos);
                else if (keyStep == JsonStep.Done) EndKey(blockPos);
                return;
            case BlockState.Colon:
                if (IsWhitespace(c)) return;
                if (c == ':') _block = BlockState.Value;
                else Malformed(blockPos);
                return;
            case BlockState.Value:
                if (!IsWhitespace(c)) StartValue(c, blockPos);
                return;
            case BlockState.InName:
                StepName(c, blockPos);
                return;
            case BlockState.InArguments:
                StepArguments(c, blockPos);
                return;
            case BlockState.InArgumentsString:
                StepArgumentsString(c, blockPos);
                return;
            case BlockState.InSkippedValue:
                var skipStep = _scanner.Feed(c);
                if (skipStep == JsonStep.Error) Malformed(blockPos);
                else if (skipStep == JsonStep.Done) _block = BlockState.CommaOrEnd;
                else if (skipStep == JsonStep.DoneBefore)
                {
                    _block = BlockState.CommaOrEnd;
                    Dispatch(c, blockPos);
                }
                return;
            case BlockState.CommaOrEnd:
                if (IsWhitespace(c)) return;
                if (c == ',') _block = BlockState.Key;
                else if (c == '}') CloseObject(blockPos);
                else if (c == '<' && _started && _argumentsComplete) StartCloseTag(blockPos);
                else Malformed(blockPos);
                return;
            case BlockState.AfterObject:
                if (IsWhitespace(c)) return;
                if (c == '<') StartCloseTag(blockPos);
                else Malformed(blockPos);
                return;
            case BlockState.InCloseTag:
                if (c != CloseTag[_closeMatchedChars]) Malformed(_closeTagStart);
                else if (++_closeMatchedChars == CloseTag.Length) EndCall();
                return;
        }
    }

    private void StartKey(char c, int blockPos)
    {
        if (c != '"')
        {
            Malformed(blockPos);
            return;
        }
        _decoder.Reset();
        _block = BlockState.InKey;
    }

    private void EndKey(int blockPos)
    {
        string key = _decoder.Decoded;
        _key = key switch
        {
            "name" => KeyKind.Name,
            "arguments" or "parameters" => KeyKind.Arguments,
            _ => KeyKind.Other,
        };
        if ((_key == KeyKind.Name && _name is not null) || (_key == KeyKind.Arguments && _argumentsSeen))
        {
            Malformed(blockPos); // a repeated key leaves it unclear which value is meant
            return;
        }
        _block = BlockState.Colon;
    }

    private void StartValue(char c, int blockPos)
    {
        switch (_key)
        {
            case KeyKind.Name:
                if (c != '"')
                {
                    Malformed(blockPos);
                    return;
                }
                _decoder.Reset();
                _block = BlockState.InName;
                return;
            case KeyKind.Arguments:
                _argumentsSeen = true;
                if (c == '"')
                {
                    _decoder.Reset();
                    _block = BlockState.InArgumentsString;
                    return;
                }
                if (c != '{')
                {
                    Malformed(blockPos);
                    return;
                }
                _scanner.Reset();
                _scanner.Feed(c);
                _block = BlockState.InArguments;
                AppendArguments(c);
                return;
            default:
                _scanner.Reset();
                _block = BlockState.InSkippedValue;
                Dispatch(c, blockPos);
                return;
        }
    }

    private void StepName(char c, int blockPos)
    {
        var step = _decoder.Feed(c);
        if (step == JsonStep.Error)
        {
            Malformed(blockPos);
            return;
        }
        if (step != JsonStep.Done) return;
        string name = _decoder.Decoded;
        if (string.IsNullOrWhiteSpace(name))
        {
            Malformed(blockPos);
            return;
        }
        _name = name;
        _block = BlockState.CommaOrEnd;
        if (_argumentsComplete) StartCall();
    }

    private void StepArguments(char c, int blockPos)
    {
        var step = _scanner.Feed(c);
        if (step == JsonStep.Error)
        {
            Malformed(blockPos);
            return;
        }
        // The call starts at the first non-blank character after '{': a '{' followed by a single quote is more
        // likely a malformed block than arguments worth announcing.
        if (!_started && _name is not null && !IsWhitespace(c)) StartCall();
        AppendArguments(c);
        if (step == JsonStep.Done)
        {
            _argumentsComplete = true;
            _block = BlockState.CommaOrEnd;
        }
    }

    private void StepArgumentsString(char c, int blockPos)
    {
        var step = _decoder.Feed(c);
        if (step == JsonStep.Error)
        {
            Malformed(blockPos);
            return;
        }
        if (step != JsonStep.Done) return;
        string inner = _decoder.Decoded.Trim();
        if (!JsonValueScanner.IsCompleteObject(inner))
        {
            Malformed(blockPos);
            return;
        }
        _argumentsBeforeName.Append(inner);
        _argumentsComplete = true;
        _block = BlockState.CommaOrEnd;
        if (_name is not null) StartCall();
    }

    private void CloseObject(int blockPos)
    {
        if (_name is null)
        {
            Malformed(blockPos);
            return;
        }
        if (!_argumentsSeen)
        {
            _argumentsSeen = true;
            _argumentsComplete = true;
            _argumentsBeforeName.Append("{}");
            StartCall();
        }
        _block = BlockState.AfterObject;
    }

    private void StartCloseTag(int blockPos)
    {
        _closeTagStart = blockPos;
        _closeMatchedChars = 1;
        _block = BlockState.InCloseTag;
    }

    private void StartCall()
    {
        if (_started) return;
        _started = true;
        FlushOutput();
        _events!.Add(new ToolCallStarted(_callCount++, _name!));
        if (_argumentsBeforeName.Length > 0)
        {
            _argumentsOut.Append(_argumentsBeforeName);
            _argumentsBeforeName.Clear();
        }
    }

    private void AppendArguments(char c)
    {
        if (!_started)
        {
            _argumentsBeforeName.Append(c);
            return;
        }
        if (_contentOut.Length > 0) FlushOutput();
        _argumentsOut.Append(c);
    }

    private void EndCall()
    {
        FlushOutput();
        _inBlock = false;
        _afterCall = true;
    }

    /// <summary>Settles a block that cannot continue; see the class remarks for the rules.</summary>
    private void Malformed(int resumeAt)
    {
        string rest = _blockText.ToString(resumeAt, _blockText.Length - resumeAt);
        if (_started)
        {
            EndCall();
        }
        else
        {
            AppendContent(_whitespaceBeforeBlock);
            AppendContent(OpenTag);
            AppendContent(_blockText.ToString(0, resumeAt));
            _inBlock = false;
            _afterCall = false;
        }
        _rescan = rest;
    }

    private void AppendContent(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) return;
        if (_argumentsOut.Length > 0) FlushOutput();
        _contentOut.Append(text);
    }

    private void AppendContent(char c)
    {
        if (_argumentsOut.Length > 0) FlushOutput();
        _contentOut.Append(c);
    }

    private void FlushOutput()
    {
        if (_argumentsOut.Length > 0)
        {
            _events!.Add(new ToolCallArgumentsDelta(_callCount - 1, _argumentsOut.ToString()));
            _argumentsOut.Clear();
        }
        if (_contentOut.Length > 0)
        {
            _events!.Add(new ContentDelta(_contentOut.ToString()));
            _contentOut.Clear();
        }
    }

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\n' or '\r';
}
