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
/// with truncated arguments otherwise (what a length-limited OpenAI stream also delivers). A closing tag
/// where the outer object's last <c>}</c> should be is accepted once name and arguments are complete.</para>
/// </remarks>
public sealed partial class ToolCallParser
{
    private const string OpenTag = "<tool_call>";
    private const string CloseTag = "</tool_call>";
    private static readonly SearchValues<char> TextSpecials = SearchValues.Create("< \t\r\n");

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
    private readonly StringBuilder _argumentsBeforeStart = new();
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
        _argumentsBeforeStart.Clear();
        _started = false;
        _closeMatchedChars = 0;
    }

    private void StepBlock(char c)
    {
        _blockText.Append(c);
        Dispatch(c, _blockText.Length - 1);
    }

    private void StartCall()
    {
        if (_started) return;
        _started = true;
        FlushOutput();
        _events!.Add(new ToolCallStarted(_callCount++, _name!));
        if (_argumentsBeforeStart.Length > 0)
        {
            _argumentsOut.Append(_argumentsBeforeStart);
            _argumentsBeforeStart.Clear();
        }
    }

    private void AppendArguments(char c)
    {
        if (!_started)
        {
            _argumentsBeforeStart.Append(c);
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
