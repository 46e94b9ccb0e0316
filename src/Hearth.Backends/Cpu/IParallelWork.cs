namespace Hearth.Backends.Cpu;

/// <summary>
/// A job split into numbered items. Ops keep one instance per op and set its fields before each run,
/// so dispatching work allocates nothing.
/// </summary>
internal interface IParallelWork
{
    void Execute(int item);
}
