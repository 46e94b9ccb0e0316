namespace Hearth.Tokenization.Parsing;

// The JSON object inside one <tool_call> block, recognised a character at a time.
public sealed partial class ToolCallParser
{
    private enum BlockState
    {
        BeforeObject, FirstKeyOrEnd, Key, InKey, Colon, Value,
        InName, InArguments, InArgumentsString, InSkippedValue,
        CommaOrEnd, AfterObject, InCloseTag,
    }

    private enum KeyKind { Name, Arguments, Other }

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
        _argumentsBeforeStart.Append(inner);
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
            _argumentsBeforeStart.Append("{}");
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
}
