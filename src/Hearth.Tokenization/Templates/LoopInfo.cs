namespace Hearth.Tokenization.Templates;

/// <summary>The `loop` variable inside a for block.</summary>
internal sealed class LoopInfo
{
    private readonly IReadOnlyList<object?> _items;

    public LoopInfo(IReadOnlyList<object?> items, int depth0)
    {
        _items = items;
        Depth0 = depth0;
    }

    public int Index0 { get; set; }

    public int Depth0 { get; }

    public int Length => _items.Count;

    public object? GetAttribute(string name) => name switch
    {
        "index0" => (long)Index0,
        "index" => (long)(Index0 + 1),
        "revindex0" => (long)(Length - Index0 - 1),
        "revindex" => (long)(Length - Index0),
        "first" => Index0 == 0,
        "last" => Index0 == Length - 1,
        "length" => (long)Length,
        "depth0" => (long)Depth0,
        "depth" => (long)(Depth0 + 1),
        "previtem" => Index0 > 0 ? _items[Index0 - 1] : new Undefined("there is no previous item"),
        "nextitem" => Index0 < Length - 1 ? _items[Index0 + 1] : new Undefined("there is no next item"),
        "cycle" => new BoundMethod(this, "cycle"),
        _ => Undefined.Attribute(this, name),
    };

    public object? Cycle(CallArgs args)
    {
        if (args.Positional.Count == 0) throw new JinjaRuntimeError("no items for cycling given");
        return args.Positional[Index0 % args.Positional.Count];
    }
}
