using System.Globalization;
using Hearth.Core;

namespace Hearth.Models.Gguf;

/// <summary>
/// One metadata value: a scalar (boxed as its .NET type), a string, or an array (a typed .NET array: string[],
/// int[], float[], …; arrays of arrays hold GgufValue[]).
/// </summary>
public sealed class GgufValue
{
    public GgufValue(GgufValueType type, object value, GgufValueType? elementType = null)
    {
        if (type == GgufValueType.Array && elementType is null) throw new ArgumentException("an array value needs its element type");
        Type = type;
        Value = value;
        ElementType = elementType;
    }

    public GgufValueType Type { get; }

    /// <summary>For arrays: the type of the elements.</summary>
    public GgufValueType? ElementType { get; }

    public object Value { get; }

    public static GgufValue String(string value) => new(GgufValueType.String, value);
    public static GgufValue UInt32(uint value) => new(GgufValueType.UInt32, value);
    public static GgufValue Int32(int value) => new(GgufValueType.Int32, value);
    public static GgufValue UInt64(ulong value) => new(GgufValueType.UInt64, value);
    public static GgufValue Float32(float value) => new(GgufValueType.Float32, value);
    public static GgufValue Bool(bool value) => new(GgufValueType.Bool, value);
    public static GgufValue StringArray(string[] values) => new(GgufValueType.Array, values, GgufValueType.String);
    public static GgufValue Int32Array(int[] values) => new(GgufValueType.Array, values, GgufValueType.Int32);

    /// <summary>Any integer type as long.</summary>
    public long AsInt64(string key) => Value switch
    {
        byte v => v, sbyte v => v, ushort v => v, short v => v, uint v => v, int v => v, long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        _ => throw Mismatch(key, "an integer"),
    };

    public int AsInt32(string key)
    {
        long v = AsInt64(key);
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : throw Mismatch(key, "a 32-bit integer");
    }

    /// <summary>Any number as double.</summary>
    public double AsDouble(string key) => Value switch
    {
        float v => v, double v => v,
        _ => Type is GgufValueType.Bool or GgufValueType.String or GgufValueType.Array ? throw Mismatch(key, "a number") : AsInt64(key),
    };

    public bool AsBool(string key) => Value is bool b ? b : throw Mismatch(key, "a bool");

    public string AsString(string key) => Value as string ?? throw Mismatch(key, "a string");

    public string[] AsStringArray(string key) => Value as string[] ?? throw Mismatch(key, "an array of strings");

    /// <summary>An array of any integer type, as ints.</summary>
    public int[] AsInt32Array(string key)
    {
        if (Value is int[] ints) return ints;
        if (Type != GgufValueType.Array || Value is not Array array || ElementType is GgufValueType.String or GgufValueType.Array
            or GgufValueType.Float32 or GgufValueType.Float64 or GgufValueType.Bool)
            throw Mismatch(key, "an array of integers");
        var result = new int[array.Length];
        for (int i = 0; i < result.Length; i++) result[i] = Convert.ToInt32(array.GetValue(i), CultureInfo.InvariantCulture);
        return result;
    }

    private HearthException Mismatch(string key, string expected) =>
        new($"GGUF metadata '{key}' is {(Type == GgufValueType.Array ? $"an array of {ElementType}" : Type.ToString())}, expected {expected}");

    public override string ToString() => Value is Array a ? $"[{a.Length} × {ElementType}]" : Convert.ToString(Value, CultureInfo.InvariantCulture) ?? "";
}
