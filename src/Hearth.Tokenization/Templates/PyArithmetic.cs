using System.Text;

namespace Hearth.Tokenization.Templates;

/// <summary>Python's arithmetic operators on template values.</summary>
internal static class PyArithmetic
{
    /// <summary>Bounds what `'x' * n` may build, so a template cannot exhaust memory.</summary>
    public const long MaxBuiltLength = 16 * 1024 * 1024;

    public static object? Binary(string op, object? a, object? b)
    {
        if (a is Undefined ua) throw ua.Fail();
        // str % x succeeds before Python would ask Undefined for its own __rmod__.
        if (b is Undefined ub && !(op == "%" && a is string)) throw ub.Fail();
        return op switch
        {
            "+" => Add(a, b),
            "-" => Numeric(op, a, b, (x, y) => checked(x - y), (x, y) => x - y),
            "*" => Multiply(a, b),
            "/" => Divide(a, b),
            "//" => FloorDivide(a, b),
            "%" => Modulo(a, b),
            "**" => Power(a, b),
            _ => throw new JinjaRuntimeError($"unknown operator '{op}'"),
        };
    }

    public static object? Negate(object? a) => a switch
    {
        Undefined u => throw u.Fail(),
        long l => (object)checked(-l),
        bool b => (object)(b ? -1L : 0L),
        double d => -d,
        _ => throw new JinjaRuntimeError($"bad operand type for unary -: '{PyOps.TypeName(a)}'"),
    };

    public static object? Plus(object? a) => a switch
    {
        Undefined u => throw u.Fail(),
        long or double => a,
        bool b => (object)(b ? 1L : 0L),
        _ => throw new JinjaRuntimeError($"bad operand type for unary +: '{PyOps.TypeName(a)}'"),
    };

    private static object? Add(object? a, object? b)
    {
        if (a is string sa)
        {
            if (b is string sb) return sa + sb;
            throw new JinjaRuntimeError($"can only concatenate str (not \"{PyOps.TypeName(b)}\") to str");
        }
        if (a is List<object?> la)
        {
            if (b is not List<object?> lb) throw new JinjaRuntimeError($"can only concatenate list (not \"{PyOps.TypeName(b)}\") to list");
            var joined = new List<object?>(la.Count + lb.Count);
            joined.AddRange(la);
            joined.AddRange(lb);
            return joined;
        }
        if (a is object?[] ta && b is object?[] tb) return ta.Concat(tb).ToArray();
        return Numeric("+", a, b, (x, y) => checked(x + y), (x, y) => x + y);
    }

    private static object? Numeric(string op, object? a, object? b, Func<long, long, long> onInts, Func<double, double, double> onFloats)
    {
        if (!PyOps.IsNumber(a) || !PyOps.IsNumber(b)) throw Unsupported(op, a, b);
        if (PyOps.TryInt(a, out long x) && PyOps.TryInt(b, out long y))
        {
            try
            {
                return onInts(x, y);
            }
            catch (OverflowException)
            {
                throw new JinjaRuntimeError("integer overflow");
            }
        }
        return onFloats(PyOps.ToDouble(a), PyOps.ToDouble(b));
    }

    private static object? Multiply(object? a, object? b)
    {
        if (PyOps.TryInt(b, out long n) && !PyOps.IsNumber(a)) return Repeat(a, n);
        if (PyOps.TryInt(a, out long m) && !PyOps.IsNumber(b)) return Repeat(b, m);
        return Numeric("*", a, b, (x, y) => checked(x * y), (x, y) => x * y);
    }

    private static object? Repeat(object? sequence, long times)
    {
        times = Math.Max(0, times);
        long unit = sequence switch
        {
            string s => s.Length,
            List<object?> list => list.Count,
            object?[] tuple => tuple.Length,
            _ => throw Unsupported("*", sequence, times),
        };
        if (unit * times > MaxBuiltLength) throw new JinjaRuntimeError("result of '*' is too large");
        switch (sequence)
        {
            case string s:
                var sb = new StringBuilder((int)(unit * times));
                for (long i = 0; i < times; i++) sb.Append(s);
                return sb.ToString();
            case List<object?> list:
                var result = new List<object?>();
                for (long i = 0; i < times; i++) result.AddRange(list);
                return result;
            default:
                var tuple = (object?[])sequence!;
                var items = new List<object?>();
                for (long i = 0; i < times; i++) items.AddRange(tuple);
                return items.ToArray();
        }
    }

    private static object? Divide(object? a, object? b)
    {
        if (!PyOps.IsNumber(a) || !PyOps.IsNumber(b)) throw Unsupported("/", a, b);
        double divisor = PyOps.ToDouble(b);
        if (divisor == 0) throw new JinjaRuntimeError("division by zero");
        return PyOps.ToDouble(a) / divisor;
    }

    private static object? FloorDivide(object? a, object? b)
    {
        if (!PyOps.IsNumber(a) || !PyOps.IsNumber(b)) throw Unsupported("//", a, b);
        if (PyOps.ToDouble(b) == 0) throw new JinjaRuntimeError("integer division or modulo by zero");
        return Numeric("//", a, b, (x, y) => FloorDiv(x, y), FloatFloorDiv);
    }

    /// <summary>CPython's float floor division, which works from fmod so that 2.0 // 0.1 is 19.0, not 20.0.</summary>
    private static double FloatFloorDiv(double x, double y)
    {
        double mod = x % y;
        double div = (x - mod) / y;
        if (mod != 0 && (y < 0) != (mod < 0)) div -= 1.0;
        if (div == 0) return 0.0 * (x / y);
        double floor = Math.Floor(div);
        if (div - floor > 0.5) floor += 1.0;
        return floor;
    }

    private static long FloorDiv(long x, long y)
    {
        long q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
        return q;
    }

    private static object? Modulo(object? a, object? b)
    {
        if (a is string format) return PyFormat.Percent(format, b);
        if (!PyOps.IsNumber(a) || !PyOps.IsNumber(b)) throw Unsupported("%", a, b);
        if (PyOps.ToDouble(b) == 0) throw new JinjaRuntimeError("integer division or modulo by zero");
        return Numeric("%", a, b, (x, y) => x - FloorDiv(x, y) * y, (x, y) =>
        {
            double r = x % y;
            return r != 0 && (r < 0) != (y < 0) ? r + y : r;
        });
    }

    private static object? Power(object? a, object? b)
    {
        if (!PyOps.IsNumber(a) || !PyOps.IsNumber(b)) throw Unsupported("**", a, b);
        if (PyOps.TryInt(a, out long x) && PyOps.TryInt(b, out long y) && y >= 0)
        {
            long result = 1;
            long factor = x;
            try
            {
                // Squaring keeps this O(log y) even for exponents like 10**18.
                while (y > 0)
                {
                    if ((y & 1) == 1) result = checked(result * factor);
                    y >>= 1;
                    if (y > 0) factor = checked(factor * factor);
                }
            }
            catch (OverflowException)
            {
                throw new JinjaRuntimeError("integer overflow");
            }
            return result;
        }
        double x2 = PyOps.ToDouble(a), y2 = PyOps.ToDouble(b);
        if (x2 == 0 && y2 < 0) throw new JinjaRuntimeError("0.0 cannot be raised to a negative power");
        if (x2 < 0 && Math.Floor(y2) != y2) throw new JinjaRuntimeError("negative number cannot be raised to a fractional power");
        return Math.Pow(x2, y2);
    }

    private static JinjaRuntimeError Unsupported(string op, object? a, object? b) =>
        new($"unsupported operand type(s) for {op}: '{PyOps.TypeName(a)}' and '{PyOps.TypeName(b)}'");
}
