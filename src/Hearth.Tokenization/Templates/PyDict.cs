namespace Hearth.Tokenization.Templates;

/// <summary>
/// Python's dict: insertion-ordered, keys compared with Python equality (1 == 1.0 == True), so JSON objects keep
/// their key order when rendered with tojson.
/// </summary>
internal sealed class PyDict
{
    private static readonly object NoneKey = new();
    private readonly List<KeyValuePair<object?, object?>> _entries = new();
    private readonly Dictionary<object, int> _index = new(PyKeyComparer.Instance);

    public int Count => _entries.Count;

    public IReadOnlyList<KeyValuePair<object?, object?>> Entries => _entries;

    public void Set(object? key, object? value)
    {
        var slot = ToSlot(key);
        if (_index.TryGetValue(slot, out int at))
        {
            _entries[at] = new KeyValuePair<object?, object?>(_entries[at].Key, value);
            return;
        }
        _index[slot] = _entries.Count;
        _entries.Add(new KeyValuePair<object?, object?>(key, value));
    }

    public bool TryGet(object? key, out object? value)
    {
        if (_index.TryGetValue(ToSlot(key), out int at))
        {
            value = _entries[at].Value;
            return true;
        }
        value = null;
        return false;
    }

    public bool ContainsKey(object? key) => _index.ContainsKey(ToSlot(key));

    private static object ToSlot(object? key)
    {
        PyKeyComparer.EnsureHashable(key);
        return key ?? NoneKey;
    }
}
