namespace Hearth.Engine.Scheduling;

/// <summary>Why a sequence ended; None while it is still live. Maps onto the APIs' finish_reason.</summary>
public enum FinishReason
{
    None,

    /// <summary>An eos or stop token was sampled, or the engine matched a stop string.</summary>
    Stop,

    /// <summary>max_tokens outputs were produced or the context reached MaxModelLen.</summary>
    Length,

    /// <summary>The client went away or the request was cancelled.</summary>
    Abort,
}
