namespace Hearth.Backends.Cpu;

/// <summary>
/// One vector width, as static members so kernels written once over <typeparamref name="TV"/> are
/// specialized and inlined by the JIT for each width (struct type arguments get their own code).
/// The scalar width (TV = float, Count = 1) is the plain fallback.
/// </summary>
internal unsafe interface ISimd<TV> where TV : struct
{
    static abstract int Count { get; }

    static abstract TV Zero { get; }

    static abstract TV Broadcast(float value);

    static abstract TV Load(float* source);

    static abstract void Store(float* destination, TV value);

    /// <summary>Count bf16 values widened to f32.</summary>
    static abstract TV LoadBf16(ushort* source);

    /// <summary>Count IEEE half values converted to f32.</summary>
    static abstract TV LoadF16(ushort* source);

    static abstract TV Add(TV a, TV b);

    static abstract TV Subtract(TV a, TV b);

    static abstract TV Multiply(TV a, TV b);

    static abstract TV Divide(TV a, TV b);

    /// <summary>a · b + c, fused where the hardware has FMA.</summary>
    static abstract TV MultiplyAdd(TV a, TV b, TV c);

    static abstract TV Exp(TV x);

    static abstract float Sum(TV value);
}
