namespace Hearth.Tokenization.Templates;

/// <summary>Evaluated arguments of a call, filter or test: positional values, then keyword values in call order.</summary>
internal sealed class CallArgs
{
    public static readonly CallArgs Empty = new(new List<object?>(), new List<KeyValuePair<string, object?>>());

    public CallArgs(List<object?> positional, List<KeyValuePair<string, object?>> named)
    {
        Positional = positional;
        Named = named;
    }

    public List<object?> Positional { get; }

    public List<KeyValuePair<string, object?>> Named { get; }

    /// <summary>Python-style binding of one parameter: by position first, then by keyword, else the default.</summary>
    public object? Get(int position, string name, object? defaultValue)
    {
        if (position >= 0 && position < Positional.Count) return Positional[position];
        foreach (var kv in Named)
        {
            if (kv.Key == name) return kv.Value;
        }
        return defaultValue;
    }

    public bool Has(int position, string name)
    {
        if (position >= 0 && position < Positional.Count) return true;
        foreach (var kv in Named)
        {
            if (kv.Key == name) return true;
        }
        return false;
    }

    /// <summary>Rejects surplus positional arguments and unknown keywords, as Python would.</summary>
    public void Check(string function, params string[] parameterNames)
    {
        if (Positional.Count > parameterNames.Length)
            throw new JinjaRuntimeError($"{function}() takes at most {parameterNames.Length} argument(s) ({Positional.Count} given)");
        foreach (var kv in Named)
        {
            int index = Array.IndexOf(parameterNames, kv.Key);
            if (index < 0) throw new JinjaRuntimeError($"{function}() got an unexpected keyword argument '{kv.Key}'");
            if (index < Positional.Count) throw new JinjaRuntimeError($"{function}() got multiple values for argument '{kv.Key}'");
        }
    }

    public CallArgs Prepend(object? value)
    {
        var positional = new List<object?>(Positional.Count + 1) { value };
        positional.AddRange(Positional);
        return new CallArgs(positional, Named);
    }
}
