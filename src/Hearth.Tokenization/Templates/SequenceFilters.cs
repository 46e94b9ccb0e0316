namespace Hearth.Tokenization.Templates;

/// <summary>Filters over sequences: map, select/reject(attr), sort, unique, sum, min, max, reverse, dictsort, batch.</summary>
internal static class SequenceFilters
{
    public static object? Apply(RenderContext context, string name, object? value, CallArgs args)
    {
        switch (name)
        {
            case "map": return Map(context, value, args);
            case "select" or "reject": return Select(context, value, args, name == "select", byAttribute: false);
            case "selectattr" or "rejectattr": return Select(context, value, args, name == "selectattr", byAttribute: true);
            case "reverse":
                if (value is string s) return string.Concat(PyStrings.CodePoints(s).Reverse());
                var reversed = new List<object?>(PyOps.Iterate(value));
                reversed.Reverse();
                return reversed;
            case "unique": return Unique(value, args);
            case "sum":
                args.Check("sum", "attribute", "start");
                object? total = args.Get(1, "start", 0L);
                var sumAttribute = args.Get(0, "attribute", null);
                foreach (var item in PyOps.Iterate(value))
                    total = PyArithmetic.Binary("+", total, sumAttribute is null ? item : GetPath(item, sumAttribute));
                return total;
            case "min" or "max": return Extreme(value, args, name == "max");
            case "sort": return Sort(value, args);
            case "dictsort": return DictSort(value, args);
            case "batch": return Batch(value, args);
            default: throw new JinjaRuntimeError($"no filter named '{name}'");
        }
    }

    /// <summary>Looks up a dotted attribute path such as "function.name" the way Jinja's attribute filters do.</summary>
    public static object? GetPath(object? item, object? path)
    {
        if (path is not string dotted) return PyOps.GetItem(item, path);
        foreach (var part in dotted.Split('.'))
        {
            item = long.TryParse(part, out long index) ? PyOps.GetItem(item, index) : PyOps.GetItem(item, part);
        }
        return item;
    }

    private static object? Map(RenderContext context, object? value, CallArgs args)
    {
        var result = new List<object?>();
        // Jinja guards these filters with `if value:`, so None or "" maps to nothing instead of failing.
        if (!PyOps.Truthy(value)) return result;
        var attribute = args.Get(-1, "attribute", null);
        if (attribute is not null)
        {
            bool hasDefault = args.Has(-1, "default");
            var fallback = args.Get(-1, "default", null);
            foreach (var item in PyOps.Iterate(value))
            {
                var mapped = GetPath(item, attribute);
                result.Add(hasDefault && mapped is Undefined ? fallback : mapped);
            }
            return result;
        }
        if (args.Positional.Count == 0) throw new JinjaRuntimeError("map requires a filter argument");
        string filter = PyFormat.Str(args.Positional[0]);
        if (!Filters.Exists(filter)) throw new JinjaRuntimeError($"no filter named '{filter}'");
        var rest = new CallArgs(args.Positional.Skip(1).ToList(), args.Named);
        foreach (var item in PyOps.Iterate(value)) result.Add(Filters.Apply(context, filter, item, rest));
        return result;
    }

    private static object? Select(RenderContext context, object? value, CallArgs args, bool keep, bool byAttribute)
    {
        int offset = byAttribute ? 1 : 0;
        object? attribute = byAttribute ? args.Get(0, "attribute", null) : null;
        string? test = args.Positional.Count > offset ? PyFormat.Str(args.Positional[offset]) : null;
        if (test is not null && !TestFunctions.Exists(test)) throw new JinjaRuntimeError($"no test named '{test}'");
        var testArgs = new CallArgs(args.Positional.Skip(offset + 1).ToList(), new List<KeyValuePair<string, object?>>());
        var result = new List<object?>();
        if (!PyOps.Truthy(value)) return result;
        foreach (var item in PyOps.Iterate(value))
        {
            var subject = byAttribute ? GetPath(item, attribute) : item;
            bool passed = test is null ? PyOps.Truthy(subject) : TestFunctions.Apply(context, test, subject, testArgs);
            if (passed == keep) result.Add(item);
        }
        return result;
    }

    private static object? SortKey(object? item, object? attribute, bool caseSensitive)
    {
        var key = attribute is null ? item : GetPath(item, attribute);
        return !caseSensitive && key is string s ? s.ToLowerInvariant() : key;
    }

    private static IComparer<object?> PyComparer { get; } = Comparer<object?>.Create((a, b) => PyOps.Compare(a, b, "<"));

    private static object? Unique(object? value, CallArgs args)
    {
        args.Check("unique", "case_sensitive", "attribute");
        bool caseSensitive = PyOps.Truthy(args.Get(0, "case_sensitive", false));
        var attribute = args.Get(1, "attribute", null);
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (var item in PyOps.Iterate(value))
        {
            var key = SortKey(item, attribute, caseSensitive);
            PyKeyComparer.EnsureHashable(key);
            if (seen.Any(k => PyOps.Eq(k, key))) continue;
            seen.Add(key);
            result.Add(item);
        }
        return result;
    }

    private static object? Extreme(object? value, CallArgs args, bool max)
    {
        args.Check(max ? "max" : "min", "case_sensitive", "attribute");
        bool caseSensitive = PyOps.Truthy(args.Get(0, "case_sensitive", false));
        var attribute = args.Get(1, "attribute", null);
        var items = PyOps.Iterate(value);
        if (items.Count == 0) return new Undefined($"No aggregated item, sequence was empty.");
        object? best = items[0];
        foreach (var item in items.Skip(1))
        {
            int order = PyOps.Compare(SortKey(item, attribute, caseSensitive), SortKey(best, attribute, caseSensitive), "<");
            if (max ? order > 0 : order < 0) best = item;
        }
        return best;
    }

    private static object? Sort(object? value, CallArgs args)
    {
        args.Check("sort", "reverse", "case_sensitive", "attribute");
        bool reverse = PyOps.Truthy(args.Get(0, "reverse", false));
        bool caseSensitive = PyOps.Truthy(args.Get(1, "case_sensitive", false));
        var attribute = args.Get(2, "attribute", null);
        var items = PyOps.Iterate(value);
        var sorted = reverse
            ? items.OrderByDescending(i => SortKey(i, attribute, caseSensitive), PyComparer)
            : items.OrderBy(i => SortKey(i, attribute, caseSensitive), PyComparer);
        return sorted.ToList();
    }

    private static object? DictSort(object? value, CallArgs args)
    {
        args.Check("dictsort", "case_sensitive", "by", "reverse");
        if (value is not PyDict dict) throw new JinjaRuntimeError("dictsort needs a mapping");
        bool caseSensitive = PyOps.Truthy(args.Get(0, "case_sensitive", false));
        bool byValue = PyFormat.Str(args.Get(1, "by", "key")) == "value";
        bool reverse = PyOps.Truthy(args.Get(2, "reverse", false));
        var pairs = dict.Entries.Select(kv => (object?)new object?[] { kv.Key, kv.Value });
        object? Key(object? pair) => SortKey(((object?[])pair!)[byValue ? 1 : 0], null, caseSensitive);
        var sorted = reverse ? pairs.OrderByDescending(Key, PyComparer) : pairs.OrderBy(Key, PyComparer);
        return sorted.ToList();
    }

    private static object? Batch(object? value, CallArgs args)
    {
        args.Check("batch", "linecount", "fill_with");
        if (!PyOps.TryInt(args.Get(0, "linecount", null), out long size) || size <= 0)
            throw new JinjaRuntimeError("batch needs a positive linecount");
        bool fill = args.Has(1, "fill_with");
        var filler = args.Get(1, "fill_with", null);
        var result = new List<object?>();
        List<object?>? current = null;
        foreach (var item in PyOps.Iterate(value))
        {
            current ??= new List<object?>();
            current.Add(item);
            if (current.Count == size)
            {
                result.Add(current);
                current = null;
            }
        }
        if (current is not null)
        {
            while (fill && current.Count < size) current.Add(filler);
            result.Add(current);
        }
        return result;
    }
}
