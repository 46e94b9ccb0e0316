namespace Hearth.Engine.Scheduling;

public enum SequenceStatus
{
    Waiting,
    Running,
    Finished,
}
