using System.Buffers;
using System.Text;

namespace Hearth.Tokenization.Parsing;

/// <summary>
/// Splits streamed Qwen3 output into reasoning (inside <c>&lt;think&gt;…&lt;/think&gt;</c>) and content.
/// Reasoning is the text between the tags without the newlines around it; content after <c>&lt;/think&gt;</c> loses
/// its leading newlines. Only what could still change meaning is held back: a possible partial tag at the end of a
/// chunk, leading whitespace before a possible <c>&lt;think&gt;</c>, and trailing newlines inside reasoning (they are
/// dropped if <c>&lt;/think&gt;</c> follows).
/// </summary>
/// <remarks>
/// With <see cref="ReasoningStartMode.ModelOpensThink"/>, output that does not begin with <c>&lt;think&gt;</c> is all
/// content, and a later <c>&lt;/think&gt;</c> stays literal content: treating the text before it as reasoning would
/// force holding back the whole answer until the end. A <c>&lt;think&gt;</c> that is never closed makes everything after
/// it reasoning.
/// </remarks>
public sealed class ReasoningParser
{
    private const string OpenTag = "<think>";
    private const string CloseTag = "</think>";
    private static readonly SearchValues<char> ReasoningSpecials = SearchValues.Create("<\r\n");

    private enum State { BeforeOpen, ReasoningStart, Reasoning, ContentStart, Content }

    private State _state;
    private readonly StringBuilder _heldBeforeOpen = new(); // leading whitespace plus a partial "<think>"
    private int _openMatchedChars;
    private readonly StringBuilder _heldNewlines = new();
    private int _closeMatchedChars;
    private readonly StringBuilder _reasoningOut = new();
    private readonly StringBuilder _contentOut = new();

    public ReasoningParser(ReasoningStartMode mode)
    {
        _state = mode switch
        {
            ReasoningStartMode.NotThinking => State.Content,
            ReasoningStartMode.ModelOpensThink => State.BeforeOpen,
            ReasoningStartMode.InsideThink => State.ReasoningStart,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown reasoning start mode"),
        };
        SawReasoning = mode == ReasoningStartMode.InsideThink;
    }

    /// <summary>True once the output is known to contain a think block (even an empty one).</summary>
    public bool SawReasoning { get; private set; }

    public ReasoningDelta Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var span = text.AsSpan();
        int pos = 0;
        while (pos < span.Length)
        {
            switch (_state)
            {
                case State.Content:
                    _contentOut.Append(span[pos..]);
                    pos = span.Length;
                    break;
                case State.Reasoning when _closeMatchedChars == 0 && _heldNewlines.Length == 0:
                    // Fast path: copy the run up to the next character that could start a tag or a trailing newline.
                    int run = span[pos..].IndexOfAny(ReasoningSpecials);
                    if (run < 0) run = span.Length - pos;
                    if (run == 0) Step(span[pos++]);
                    else
                    {
                        _reasoningOut.Append(span.Slice(pos, run));
                        pos += run;
                    }
                    break;
                default:
                    Step(span[pos++]);
                    break;
            }
        }
        return TakeOutput();
    }

    /// <summary>Ends the stream: releases whatever was held back under the rules for end of generation.</summary>
    public ReasoningDelta Finish()
    {
        switch (_state)
        {
            case State.BeforeOpen:
                _contentOut.Append(_heldBeforeOpen);
                _heldBeforeOpen.Clear();
                _state = State.Content;
                break;
            case State.Reasoning when _closeMatchedChars > 0:
                // A partial "</think>" at the very end is reasoning text; trailing newlines alone are trimmed.
                _reasoningOut.Append(_heldNewlines).Append(CloseTag.AsSpan(0, _closeMatchedChars));
                _heldNewlines.Clear();
                _closeMatchedChars = 0;
                break;
            case State.Reasoning:
                _heldNewlines.Clear();
                break;
        }
        return TakeOutput();
    }

    private void Step(char c)
    {
        switch (_state)
        {
            case State.BeforeOpen: StepBeforeOpen(c); break;
            case State.ReasoningStart:
                if (IsNewline(c)) return;
                _state = State.Reasoning;
                StepReasoning(c);
                break;
            case State.Reasoning: StepReasoning(c); break;
            case State.ContentStart:
                if (IsNewline(c)) return;
                _state = State.Content;
                _contentOut.Append(c);
                break;
            default:
                _contentOut.Append(c);
                break;
        }
    }

    private void StepBeforeOpen(char c)
    {
        if (_openMatchedChars == 0 && IsWhitespace(c))
        {
            _heldBeforeOpen.Append(c);
            return;
        }
        if (c == OpenTag[_openMatchedChars])
        {
            _heldBeforeOpen.Append(c);
            if (++_openMatchedChars < OpenTag.Length) return;
            _heldBeforeOpen.Clear();
            _state = State.ReasoningStart;
            SawReasoning = true;
            return;
        }
        _contentOut.Append(_heldBeforeOpen).Append(c);
        _heldBeforeOpen.Clear();
        _state = State.Content;
    }

    private void StepReasoning(char c)
    {
        if (_closeMatchedChars > 0)
        {
            if (c == CloseTag[_closeMatchedChars])
            {
                if (++_closeMatchedChars < CloseTag.Length) return;
                _heldNewlines.Clear();
                _closeMatchedChars = 0;
                _state = State.ContentStart;
                return;
            }
            _reasoningOut.Append(_heldNewlines).Append(CloseTag.AsSpan(0, _closeMatchedChars));
            _heldNewlines.Clear();
            _closeMatchedChars = 0;
        }
        if (c == '<')
        {
            _closeMatchedChars = 1;
            return;
        }
        if (IsNewline(c))
        {
            _heldNewlines.Append(c);
            return;
        }
        if (_heldNewlines.Length > 0)
        {
            _reasoningOut.Append(_heldNewlines);
            _heldNewlines.Clear();
        }
        _reasoningOut.Append(c);
    }

    private ReasoningDelta TakeOutput()
    {
        if (_reasoningOut.Length == 0 && _contentOut.Length == 0) return ReasoningDelta.Empty;
        var delta = new ReasoningDelta(
            _reasoningOut.Length == 0 ? string.Empty : _reasoningOut.ToString(),
            _contentOut.Length == 0 ? string.Empty : _contentOut.ToString());
        _reasoningOut.Clear();
        _contentOut.Clear();
        return delta;
    }

    private static bool IsNewline(char c) => c is '\n' or '\r';

    private static bool IsWhitespace(char c) => c is ' ' or '\t' or '\n' or '\r';
}
